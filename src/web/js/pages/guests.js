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

const BULK = [['start', 'Start'], ['shutdown', 'Shut down'], ['destroy', 'Force off'], ['delete', 'Delete']];

// Bulk actions on the selected guests: one request each, in turn; the result
// of each is counted and the failures named.
function bulkBar(selected, onDone) {
  const status = h('span', {class: 'muted', id: 'bulk-status'});
  const count = h('span', {id: 'bulk-count'});
  const bar = h('div', {class: 'toolbar', id: 'bulk', hidden: true}, count,
    BULK.map(([verb, text]) => h('button', {type: 'button', class: verb === 'delete' || verb === 'destroy' ? 'danger' : '',
      dataset: {bulk: verb}, onclick: () => run(verb)}, text)), status);
  async function run(verb) {
    const names = [...selected].sort();
    if (verb === 'delete' && !confirm(`Delete ${names.length} guests?`)) return;
    const failed = [];
    status.textContent = `${verb}: 0 of ${names.length}`;
    for (const [i, name] of names.entries()) {
      try {
        if (verb === 'delete') await del(`/v1/domains/${q(name)}`);
        else await post(`/v1/domains/${q(name)}/${verb}`);
      } catch (e) {
        failed.push(`${name}: ${e.message}`);
      }
      status.textContent = `${verb}: ${i + 1} of ${names.length}`;
    }
    status.textContent = `${verb}: ${names.length - failed.length} of ${names.length} done` +
      (failed.length ? `; failed: ${failed.join('; ')}` : '');
    onDone();
  }
  return {el: bar, show() { bar.hidden = !selected.size; count.textContent = `${selected.size} selected`; }};
}

export async function guestsPage(outlet) {
  const selected = new Set();
  const bulk = bulkBar(selected, () => refresh());
  const columns = [
    {key: 'name', label: 'Name', render: (d) => h('a', {href: `#/guests/${q(d.name)}`}, d.name)},
    {key: 'state', label: 'State', render: (d) => stateBadge(d.state)},
    {key: 'vcpus', label: 'vCPUs'},
    {key: 'memory_mib', label: 'Memory', render: (d) => mib(d.memory_mib)},
  ];
  if (canWrite())
    columns.unshift({key: 'select', label: '', sortable: false, value: () => '', render: (d) =>
      h('input', {type: 'checkbox', 'aria-label': `Select ${d.name}`, checked: selected.has(d.name),
        onchange: (e) => { if (e.target.checked) selected.add(d.name); else selected.delete(d.name); bulk.show(); }})});
  if (canWrite())
    columns.push({key: 'actions', label: 'Actions', sortable: false, class: 'actions', value: () => '',
      render: (d) => [...(ACTIONS[d.state] || []), ...(d.state === 'shutoff' ? [['delete', 'Delete']] : [])]
        .map(([verb, text]) => h('button', {type: 'button', class: verb === 'delete' || verb === 'destroy' ? 'danger' : '',
          dataset: {action: verb}, onclick: () => act(d.name, verb)}, text))});
  const table = tableView({columns, rowKey: (d) => d.name, empty: 'No guests defined', label: 'Guests',
    sortKey: 'name'});
  const count = h('span', {class: 'muted', id: 'guest-count'});
  outlet.append(h('h1', {}, 'Guests ', count),
    canWrite() ? h('div', {class: 'toolbar'}, h('a', {href: '#/new-guest', class: 'button primary', id: 'new-guest'}, 'New guest')) : null,
    bulk.el, table.el);
  let pending = null;
  async function refresh() {
    try {
      const list = await get('/v1/domains');
      const names = new Set(list.map((d) => d.name));
      for (const n of [...selected]) if (!names.has(n)) selected.delete(n);
      bulk.show();
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
