// Virtual networks: list, create, start, stop, delete, DHCP leases.
import {get, post, del, q} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {subscribe} from '../events.js';
import {formView} from '../form.js';
import {time} from '../format.js';
import {canWrite} from '../session.js';
import {tableView} from '../table.js';

async function act(n, verb) {
  try {
    if (verb === 'delete') {
      if (!confirm(`Delete network ${n.name}?`)) return;
      await del(`/v1/networks/${q(n.name)}`);
    } else {
      await post(`/v1/networks/${q(n.name)}/${verb}`);
    }
    toast(`${n.name}: ${verb} done`);
  } catch (e) {
    toast(`${n.name}: ${verb} failed: ${e.message}`, true);
  }
}

async function showLeases(n, box) {
  try {
    const leases = await get(`/v1/networks/${q(n.name)}/leases`);
    mount(box, h('h2', {}, `Leases of ${n.name}`), leases.length
      ? h('ul', {}, leases.map((l) => h('li', {}, `${l.ip} ${l.mac} ${l.hostname || ''} until ${time(l.expiry)}`)))
      : h('p', {class: 'muted'}, 'No leases'));
  } catch (e) {
    mount(box, h('p', {class: 'error'}, e.message));
  }
}

export async function networksPage(outlet) {
  const leases = h('div', {id: 'leases'});
  const columns = [
    {key: 'name', label: 'Name'}, {key: 'mode', label: 'Mode'},
    {key: 'ip', label: 'Address', narrow: true}, {key: 'bridge', label: 'Bridge', narrow: true},
    {key: 'active', label: 'State', value: (n) => (n.active ? 'active' : 'inactive'),
      render: (n) => h('span', {class: `state ${n.active ? 'active' : ''}`}, n.active ? 'active' : 'inactive')},
    {key: 'leases', label: '', sortable: false, value: () => '',
      render: (n) => h('button', {type: 'button', onclick: () => showLeases(n, leases)}, 'Leases')},
  ];
  if (canWrite())
    columns.push({key: 'actions', label: 'Actions', sortable: false, class: 'actions', value: () => '',
      render: (n) => (n.active ? [['stop', 'Stop']] : [['start', 'Start'], ['delete', 'Delete']]).map(([verb, text]) =>
        h('button', {type: 'button', class: verb === 'delete' ? 'danger' : '', dataset: {action: verb},
          onclick: () => act(n, verb)}, text))});
  const table = tableView({columns, rowKey: (n) => n.name, empty: 'No networks', label: 'Networks'});
  outlet.append(h('h1', {}, 'Networks'), table.el, leases);
  if (canWrite()) {
    const form = formView({label: 'New network', submit: 'Create network', fields: [
      {name: 'name', label: 'Name', required: true, pattern: '[A-Za-z0-9_.+-]{1,10}'},
      {name: 'mode', label: 'Mode', options: ['nat', 'routed', 'isolated']},
      {name: 'ip', label: 'Address/prefix', required: true, placeholder: '10.20.0.1/24',
        pattern: '[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/[0-9]+'},
      {name: 'dhcp_start', label: 'DHCP from', placeholder: '10.20.0.100'},
      {name: 'dhcp_end', label: 'DHCP to', placeholder: '10.20.0.200'},
    ], onSubmit: async (v) => {
      const body = {name: v.name, mode: v.mode, ip: v.ip};
      if (v.dhcp_start || v.dhcp_end) body.dhcp = {start: v.dhcp_start, end: v.dhcp_end};
      await post('/v1/networks', body);
      refresh();
    }});
    outlet.append(h('h2', {}, 'New network'), form.el);
  }
  async function refresh() {
    try { table.update(await get('/v1/networks')); } catch (e) { toast(`networks: ${e.message}`, true); }
  }
  const off = subscribe((e) => { if (e.object === 'network') refresh(); });
  await refresh();
  return off;
}
