// The host's event stream (server-sent events on /v1/events), shared by every
// page: one EventSource, many listeners. It reconnects by itself (EventSource
// does), so a restarted stratad is picked up again; what happened while it was
// gone is not replayed, so every listener is then told to reload ('resync').
const KINDS = ['defined', 'undefined', 'started', 'stopped', 'crashed', 'suspended', 'resumed',
  'disk-attached', 'disk-detached', 'disk-detach-requested', 'pool-defined', 'pool-undefined',
  'volume-created', 'volume-deleted', 'net-defined', 'net-undefined', 'net-started', 'net-stopped'];

let source = null;
let lost = false;
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
    source.onerror = () => { lost = true; };
    source.onopen = () => {
      if (!lost) return;
      lost = false;
      for (const object of ['domain', 'pool', 'volume', 'network'])
        for (const fn of listeners) fn({object, event: 'resync'});
    };
  }
  return () => listeners.delete(fn);
}

export function close() {
  if (source) source.close();
  source = null;
  listeners.clear();
}
