// The guests table: live from the event stream, filter and sort, actions
// for users with full access.
import {get, post, del, q} from '../api.js';
import {h, toast} from '../dom.js';
import {subscribe} from '../events.js';
import {mib} from '../format.js';
import {canWrite} from '../session.js';
import {tableView} from '../table.js';

const ACTIONS = {
  shutoff: [['start', 'Start']],
  running: [['shutdown', 'Shut down'], ['destroy', 'Force off'], ['reboot', 'Reboot'], ['suspend', 'Pause']],
  paused: [['resume', 'Resume'], ['destroy', 'Force off']],
};

async function act(name, verb) {
  try {
    if (verb === 'delete') {
      if (!confirm(`Delete guest ${name}?`)) return;
      await del(`/v1/domains/${q(name)}`);
    } else {
      await post(`/v1/domains/${q(name)}/${verb}`);
    }
    toast(`${name}: ${verb} done`);
  } catch (e) {
    toast(`${name}: ${verb} failed: ${e.message}`, true);
  }
}

export function stateBadge(state) {
  return h('span', {class: `state ${state}`}, state);
}

export async function guestsPage(outlet) {
  const columns = [
    {key: 'name', label: 'Name', render: (d) => h('a', {href: `#/guests/${q(d.name)}`}, d.name)},
    {key: 'state', label: 'State', render: (d) => stateBadge(d.state)},
    {key: 'vcpus', label: 'vCPUs'},
    {key: 'memory_mib', label: 'Memory', render: (d) => mib(d.memory_mib)},
  ];
  if (canWrite())
    columns.push({key: 'actions', label: 'Actions', sortable: false, class: 'actions', value: () => '',
      render: (d) => [...(ACTIONS[d.state] || []), ...(d.state === 'shutoff' ? [['delete', 'Delete']] : [])]
        .map(([verb, text]) => h('button', {type: 'button', class: verb === 'delete' || verb === 'destroy' ? 'danger' : '',
          dataset: {action: verb}, onclick: () => act(d.name, verb)}, text))});
  const table = tableView({columns, rowKey: (d) => d.name, empty: 'No guests defined', label: 'Guests'});
  const count = h('span', {class: 'muted', id: 'guest-count'});
  outlet.append(h('h1', {}, 'Guests ', count), table.el);
  let pending = null;
  async function refresh() {
    try {
      const list = await get('/v1/domains');
      table.update(list);
      count.textContent = `(${list.length})`;
    } catch (e) {
      toast(`guests: ${e.message}`, true);
    }
  }
  // subscribe first: a change between the list and the subscription is not lost
  const off = subscribe((e) => {
    if (e.object !== 'domain' || pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 100);
  });
  await refresh();
  return () => { off(); clearTimeout(pending); };
}
