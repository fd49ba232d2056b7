// The host's events as they come (the last 1024 first).
import {h} from '../dom.js';
import {time} from '../format.js';
import {tableView} from '../table.js';

const KINDS = ['defined', 'undefined', 'started', 'stopped', 'crashed', 'suspended', 'resumed', 'disk-attached',
  'disk-detached', 'disk-detach-requested', 'pool-defined', 'pool-undefined', 'volume-created', 'volume-deleted',
  'net-defined', 'net-undefined', 'net-started', 'net-stopped'];

export async function eventsPage(outlet) {
  const rows = [];
  const table = tableView({label: 'Events', rowKey: (e) => String(e.seq), empty: 'No events yet', columns: [
    {key: 'seq', label: '#'}, {key: 'time', label: 'Time', render: (e) => time(e.time)},
    {key: 'event', label: 'Event'}, {key: 'object', label: 'Object', narrow: true},
    {key: 'name', label: 'Name'}, {key: 'reason', label: 'Reason', narrow: true},
  ]});
  outlet.append(h('h1', {}, 'Events'), table.el);
  table.update(rows);
  const source = new EventSource('/v1/events?since=1', {withCredentials: true});
  let pending = null;
  const add = (msg) => {
    try { rows.push(JSON.parse(msg.data)); } catch { return; }
    if (!pending) pending = setTimeout(() => { pending = null; table.update(rows.slice(-1000)); }, 50);
  };
  for (const k of KINDS) source.addEventListener(k, add);
  return () => { source.close(); clearTimeout(pending); };
}
