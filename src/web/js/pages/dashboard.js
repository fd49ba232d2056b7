// The dashboard: the host's CPU, memory, disk and network use as live charts
// (uPlot; the last five minutes, a sample a second, from GET /v1/host/stats),
// the guests by state and the storage pools' fill.
import {get} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {bytes} from '../format.js';
import {fillBar} from './storage.js';

const KEEP = 300;
const CHARTS = [
  {id: 'cpu', title: 'CPU', series: [['cpu', 'busy']], fmt: (v) => `${Math.round(v * 100)} %`, range: [0, 1]},
  {id: 'memory', title: 'Memory', series: [['mem_used', 'used']], fmt: bytes, range: 'mem_total'},
  {id: 'disk', title: 'Disk', series: [['disk_read', 'read'], ['disk_write', 'write']], fmt: (v) => `${bytes(v)}/s`},
  {id: 'network', title: 'Network', series: [['net_rx', 'received'], ['net_tx', 'sent']],
    fmt: (v) => `${bytes(v)}/s`},
];
const COLOURS = ['#2f6fb0', '#c0602a'];

let uPlotLoaded = null;
function loadUPlot() {
  if (!uPlotLoaded) {
    document.head.append(h('link', {rel: 'stylesheet', href: '/vendor/uplot/uPlot.min.css'}));
    uPlotLoaded = import('/vendor/uplot/uPlot.esm.js').then((m) => m.default);
  }
  return uPlotLoaded;
}

function chart(uPlot, spec, el, data) {
  const opts = {
    width: Math.max(240, el.clientWidth - 8), height: 150,
    legend: {live: false},
    scales: {x: {time: true}, y: spec.range === 'mem_total' ? {range: () => [0, data.memTotal || 1]}
      : spec.range ? {range: () => spec.range} : {range: (u, min, max) => [0, Math.max(max, 1024)]}},
    axes: [{}, {size: 70, values: (u, vals) => vals.map(spec.fmt)}],
    series: [{}, ...spec.series.map(([, label], i) => ({label, stroke: COLOURS[i], width: 1.5,
      fill: i ? undefined : `${COLOURS[i]}22`, value: (u, v) => (v == null ? '' : spec.fmt(v))}))],
  };
  return new uPlot(opts, [data.t, ...spec.series.map(([key]) => data[key])], el);
}

export async function dashboardPage(outlet) {
  const counts = h('p', {id: 'guest-states'});
  const pools = h('div', {id: 'pool-fill'});
  const now = h('p', {class: 'muted', id: 'stats-now'});
  const boxes = Object.fromEntries(CHARTS.map((c) => [c.id, h('div', {class: 'chart', id: `chart-${c.id}`,
    dataset: {samples: 0}})]));
  outlet.append(h('h1', {}, 'Dashboard'), h('h2', {}, 'Guests'), counts,
    h('h2', {}, 'Host'), now,
    h('div', {class: 'charts'}, CHARTS.map((c) => h('section', {}, h('h3', {}, c.title), boxes[c.id]))),
    h('h2', {}, 'Storage pools'), pools);
  const data = {t: [], memTotal: 0};
  for (const c of CHARTS) for (const [key] of c.series) data[key] = [];
  let last = 0, plots = null, timer = null, stopped = false;
  let uPlot = null;
  try { uPlot = await loadUPlot(); } catch { now.textContent = 'charts unavailable (uPlot is not installed)'; }

  function draw() {
    const len = data.t.length;
    for (const c of CHARTS) boxes[c.id].dataset.samples = len;
    if (!uPlot || !len) return;
    if (!plots) plots = CHARTS.map((c) => chart(uPlot, c, boxes[c.id], data));
    else plots.forEach((p, i) => p.setData([data.t, ...CHARTS[i].series.map(([key]) => data[key])]));
  }

  async function poll() {
    try {
      const s = await get(`/v1/host/stats?since=${last}`);
      if (stopped) return;
      for (let i = 0; i < s.t.length; i++) {
        data.t.push(s.t[i] / 1000);
        for (const c of CHARTS) for (const [key] of c.series) data[key].push(s[key][i]);
      }
      if (s.t.length) {
        last = s.t[s.t.length - 1];
        data.memTotal = s.mem_total[s.mem_total.length - 1];
        const i = data.t.length - 1;
        now.textContent = `CPU ${Math.round(data.cpu[i] * 100)} % · memory ${bytes(data.mem_used[i])} of ` +
          `${bytes(data.memTotal)}`;
      }
      const extra = data.t.length - KEEP;
      if (extra > 0) for (const k of Object.keys(data)) if (Array.isArray(data[k])) data[k].splice(0, extra);
      mount(counts, ['running', 'paused', 'shutoff'].map((st) =>
        h('span', {class: `count state ${st}`, id: `count-${st}`}, `${s.guests[st] || 0} ${st}`)));
      draw();
    } catch (e) {
      if (!stopped) toast(`dashboard: ${e.message}`, true);
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  }

  async function poolFill() {
    try {
      const list = await get('/v1/pools');
      mount(pools, list.length ? list.map((p) => h('div', {class: 'pool', dataset: {pool: p.name}},
        h('strong', {}, p.name), fillBar(p))) : h('p', {class: 'muted'}, 'No storage pools'));
    } catch (e) {
      toast(`pools: ${e.message}`, true);
    }
  }
  await Promise.all([poll(), poolFill()]);
  return () => { stopped = true; clearTimeout(timer); if (plots) plots.forEach((p) => p.destroy()); };
}
