// A guest's disks: the list from its definition, detach, and attach from a
// storage pool's volume (POST /v1/domains/NAME/disks), for users with full
// access. On a running guest the API makes it hot (docs/host.md).
import {del, get, post, q} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {formView} from '../form.js';
import {canWrite} from '../session.js';

export function disksView(name) {
  const list = h('div', {id: 'disks'});
  const attach = h('div', {id: 'disk-attach'});
  const el = h('div', {}, list, attach);
  let formMade = false;

  async function attachForm() {
    if (formMade || !canWrite()) return;
    formMade = true;
    const volumes = [];
    try {
      for (const p of await get('/v1/pools'))
        for (const v of await get(`/v1/pools/${q(p.name)}/volumes`)) volumes.push(`${p.name}/${v.name}`);
    } catch (e) {
      toast(`volumes: ${e.message}`, true);
    }
    if (!volumes.length) {
      mount(attach, h('p', {class: 'muted'}, 'No volumes to attach (create one under Storage).'));
      return;
    }
    const form = formView({label: `Attach a disk to ${name}`, submit: 'Attach', fields: [
      {name: 'volume', label: 'Volume', options: volumes},
      {name: 'target', label: 'Target (e.g. vdb)', pattern: 'vd[a-z]{1,2}', placeholder: 'automatic'},
      {name: 'readonly', label: 'Access', options: ['read-write', 'read-only']},
    ], onSubmit: async ({volume, target, readonly}) => {
      const slash = volume.indexOf('/');
      const body = {pool: volume.slice(0, slash), volume: volume.slice(slash + 1), readonly: readonly === 'read-only'};
      if (target) body.target = target;
      const disk = await post(`/v1/domains/${q(name)}/disks`, body);
      toast(`${name}: ${disk.target} attached`);
    }});
    mount(attach, form.el);
  }

  function update(def) {
    const disks = def.disks || [];
    mount(list, disks.length ? h('table', {'aria-label': 'Disks'},
      h('thead', {}, h('tr', {}, ['Target', 'Source', 'Format', 'Mode', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, disks.map((d) => h('tr', {dataset: {key: d.target}},
        h('td', {}, d.target), h('td', {}, d.path || `${d.pool}/${d.volume}`), h('td', {}, d.format || ''),
        h('td', {}, d.readonly ? 'read-only' : 'read-write'),
        h('td', {}, canWrite() ? h('button', {type: 'button', class: 'danger', dataset: {action: 'detach'},
          onclick: async () => {
            if (!confirm(`Detach ${d.target} from ${name}?`)) return;
            try { await del(`/v1/domains/${q(name)}/disks/${q(d.target)}`); toast(`${name}: ${d.target} detached`); }
            catch (e) { toast(`detach: ${e.message}`, true); }
          }}, 'Detach') : '')))))
      : h('p', {class: 'muted'}, 'No disks'));
    attachForm();
  }
  return {el, update};
}
