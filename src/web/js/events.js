// The host's event stream (server-sent events on /v1/events), shared by every
// page: one EventSource, many listeners. It reconnects by itself (EventSource
// does), so a restarted stratad is picked up again.
const KINDS = ['defined', 'undefined', 'started', 'stopped', 'crashed', 'suspended', 'resumed',
  'disk-attached', 'disk-detached', 'disk-detach-requested', 'pool-defined', 'pool-undefined',
  'volume-created', 'volume-deleted', 'net-defined', 'net-undefined', 'net-started', 'net-stopped'];

let source = null;
const listeners = new Set();

function dispatch(msg) {
  let e;
  try { e = JSON.parse(msg.data); } catch { return; }
  for (const fn of listeners) fn(e);
}

export function subscribe(fn) {
  listeners.add(fn);
  if (!source) {
    source = new EventSource('/v1/events', {withCredentials: true});
    for (const k of KINDS) source.addEventListener(k, dispatch);
    source.onmessage = dispatch;
  }
  return () => listeners.delete(fn);
}

export function close() {
  if (source) source.close();
  source = null;
  listeners.clear();
}
