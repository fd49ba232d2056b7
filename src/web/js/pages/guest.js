// One guest: its state, disks (attach, detach), definition (as stratad stores it) and libvirt XML,
// its interfaces, its serial console (guest_console.js), and its events as they come.
import {get, q} from '../api.js';
import {h, mount, pairs} from '../dom.js';
import {subscribe} from '../events.js';
import {mib, time} from '../format.js';
import {consoleView} from './guest_console.js';
import {disksView} from './guest_disks.js';
import {stateBadge} from './guests.js';

export async function guestPage(outlet, name) {
  const props = h('dl', {class: 'props'});
  const def = h('pre', {id: 'definition'});
  const xml = h('pre', {id: 'xml'});
  const nics = h('div');
  const log = h('ul', {id: 'guest-events'});
  const disks = disksView(name);
  const console_ = consoleView(name);
  outlet.append(h('p', {}, h('a', {href: '#/guests'}, '← Guests')), h('h1', {}, name),
    h('div', {class: 'card'}, props), h('h2', {}, 'Console'), console_.el, h('h2', {}, 'Disks'), disks.el, h('h2', {}, 'Interfaces'), nics,
    h('h2', {}, 'Definition'), def, h('h2', {}, 'libvirt XML'), xml, h('h2', {}, 'Events'), log);
  async function refresh() {
    try {
      const d = await get(`/v1/domains/${q(name)}`);
      mount(props, pairs([['State', stateBadge(d.state)], ['vCPUs', d.vcpus], ['Memory', mib(d.memory_mib)],
        ['UUID', d.uuid], ['Autostart', d.autostart ? 'yes' : 'no'],
        d.started_at ? ['Started', time(d.started_at)] : [], d.last_stop_reason ? ['Last stop', d.last_stop_reason] : []]));
      def.textContent = JSON.stringify(d.definition, null, 2);
      disks.update(d.definition);
      console_.setState(d.state);
      const ifs = await get(`/v1/domains/${q(name)}/interfaces`);
      mount(nics, ifs.length ? h('ul', {}, ifs.map((i) => h('li', {}, `${i.type} ${i.source} ${i.mac}${i.ip ? ' ' + i.ip : ''}`)))
        : h('p', {class: 'muted'}, 'No interfaces'));
      const r = await fetch(`/v1/domains/${q(name)}/xml`, {credentials: 'same-origin'});
      xml.textContent = await r.text();
    } catch (e) {
      mount(props, h('span', {class: 'error'}, e.message));
    }
  }
  const off = subscribe((e) => {
    if (e.name !== name) return;
    log.prepend(h('li', {}, `${time(e.time)} ${e.event} ${e.reason || ''}`));
    refresh();
  });
  await refresh();
  return () => { off(); console_.stop(); };
}
