// A guest's serial console in the page: xterm.js (vendor/xterm, loaded when
// the console is first shown) over the WebSocket /v1/domains/NAME/console/ws.
// Binary frames are the console's output, text frames stratad's notices
// ({"error"}). A read-only session watches: what it types is not sent. After
// a drop the view reconnects (1 s, doubling to 30 s) while the guest runs. The
// guest page tells it the guest's state (setState): it connects only to a
// running guest, says when one is not, and connects again once it starts.
import {q} from '../api.js';
import {h} from '../dom.js';
import {canWrite} from '../session.js';

async function loadXterm() {
  try {
    if (!document.querySelector('link[data-xterm]'))
      document.head.append(h('link', {rel: 'stylesheet', href: '/vendor/xterm/xterm.css', dataset: {xterm: '1'}}));
    return (await import('/vendor/xterm/xterm.mjs')).Terminal;
  } catch {
    return null; // the vendored files are missing: a plain text view
  }
}

// A plain stand-in with the terminal's write/onData (output only).
function plainTerminal(box) {
  const pre = h('pre', {class: 'console-plain'});
  box.append(pre);
  const dec = new TextDecoder();
  return {write: (bytes) => { pre.textContent += dec.decode(bytes, {stream: true}); pre.scrollTop = pre.scrollHeight; },
    onData: () => {}, dispose: () => pre.remove()};
}

export function consoleView(name) {
  const status = h('span', {class: 'muted', id: 'console-status'}, 'not connected');
  const screen = h('div', {class: 'console-screen', id: 'console-screen'});
  const el = h('div', {class: 'console'}, h('div', {class: 'toolbar'}, status,
    canWrite() ? null : h('span', {class: 'muted'}, '(read-only: watching)')), screen);
  let term = null, ws = null, retry = 1, timer = null, stopped = false, running = false;
  const enc = new TextEncoder();
  const say = (text, bad) => { status.textContent = text; status.classList.toggle('error', !!bad); };

  async function whyNot() {
    // The handshake's HTTP error is hidden from a WebSocket: ask the same URL plainly.
    try {
      const r = await fetch(`/v1/domains/${q(name)}/console/ws`, {credentials: 'same-origin'});
      const body = await r.json();
      return {status: r.status, message: body.error ? body.error.message : ''};
    } catch { return {status: 0, message: 'stratad is unreachable'}; }
  }

  function connect() {
    if (stopped || !running || !term || ws) return;
    clearTimeout(timer);
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/domains/${q(name)}/console/ws`;
    say('connecting…');
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let opened = false;
    ws.onopen = () => { opened = true; retry = 1; say('connected'); };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') {
        try { say(JSON.parse(m.data).error, true); } catch { /* not ours */ }
      } else {
        term.write(new Uint8Array(m.data));
      }
    };
    ws.onclose = async (e) => {
      ws = null;
      if (stopped) return;
      if (opened && e.code === 1000) { // the console closed: the guest page's next state says why
        say(e.reason || 'the console closed');
        return;
      }
      const why = opened ? {status: 0, message: e.reason} : await whyNot();
      if (why.status === 409 || why.status === 404 || why.status === 403 || why.status === 401) {
        say(why.message || `console refused (HTTP ${why.status})`, true);
        return; // the guest page's next state reconnects
      }
      say(`${why.message || 'disconnected'}; reconnecting in ${retry} s`, !opened);
      timer = setTimeout(connect, retry * 1000);
      retry = Math.min(retry * 2, 30);
    };
  }

  (async () => {
    const Terminal = await loadXterm();
    if (stopped) return;
    if (Terminal) {
      term = new Terminal({convertEol: false, cursorBlink: true, rows: 24, cols: 80, disableStdin: !canWrite(),
        fontSize: 14, scrollback: 2000});
      term.open(screen);
    } else {
      term = plainTerminal(screen);
    }
    term.onData((data) => { if (ws && ws.readyState === WebSocket.OPEN && canWrite()) ws.send(enc.encode(data)); });
    connect();
  })();

  return {el, setState(state) {
    running = state === 'running' || state === 'paused';
    if (!running) {
      clearTimeout(timer);
      if (!ws) say(`the guest is ${state}: no console`);
    } else if (!ws) {
      retry = 1;
      connect();
    }
  }, stop() {
    stopped = true; clearTimeout(timer);
    if (ws) ws.close(1000);
    if (term) term.dispose();
  }};
}

