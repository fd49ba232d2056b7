// The new-guest wizard (#/new-guest, #/new-guest/TEMPLATE): from a template
// or from scratch; each disk a new pool volume, a copy or qcow2 overlay of a
// base volume, an uploaded image or a host file; NICs on a network or bridge.
// Every field is checked before anything is sent; the volumes are made
// first, then the guest is defined; an error from the API is shown next to
// the field it names, and the volumes this attempt made are deleted again.
import {get, post, del, upload, q} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {bytes} from '../format.js';

const NAME = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,63}$/;
const SIZE = /^[1-9][0-9]*[KMGT]?$/;

// A labelled input with its error line: {el, input, error, set(msg)}.
function field(label, input, hint) {
  const error = h('span', {class: 'field-error'});
  return {el: h('label', {}, label, input, hint ? h('span', {class: 'muted hint'}, hint) : null, error), input, error,
    set(msg) { error.textContent = msg || ''; }};
}

const select = (name, options, value) => h('select', {name}, options.map(([v, text]) =>
  h('option', {value: v, selected: v === value}, text)));

function diskRow(i, pools, volumesOf, guestName, init = {}, remove) {
  const kind = init.path ? 'path' : init.base ? init.mode : 'new';
  const f = {
    source: field('Disk source', select('source', [['new', 'New volume'], ['copy', 'Copy of a base volume'],
      ['overlay', 'qcow2 overlay of a base'], ['upload', 'Upload an image'], ['path', 'Host file (shared)']], kind)),
    pool: field('Pool', select('pool', pools.map((p) => [p.name, p.name]), init.pool)),
    volume: field('Volume name', h('input', {name: 'volume'})),
    capacity: field('Capacity', h('input', {name: 'capacity', value: init.capacity || '1G', placeholder: '10G'})),
    format: field('Format', select('format', [['qcow2', 'qcow2'], ['raw', 'raw']], init.format || 'qcow2')),
    base: field('Base volume', h('select', {name: 'base'})),
    file: field('Image file', h('input', {type: 'file', name: 'file'})),
    path: field('File path', h('input', {name: 'path', value: init.path || '', placeholder: '/var/lib/images/x.raw'})),
  };
  const rowError = h('div', {class: 'form-error'});
  const progress = h('progress', {max: 100, value: 0, hidden: true});
  const el = h('fieldset', {class: 'form disk', dataset: {disk: i}}, h('legend', {}, `Disk ${i + 1}`),
    Object.values(f).map((x) => x.el), h('button', {type: 'button', onclick: remove}, 'Remove'), progress, rowError);
  const show = () => {
    const s = f.source.input.value;
    f.pool.el.hidden = s === 'path';
    f.volume.el.hidden = s === 'path';
    f.capacity.el.hidden = s !== 'new';
    f.format.el.hidden = s !== 'new' && s !== 'upload';
    f.base.el.hidden = s !== 'copy' && s !== 'overlay';
    f.file.el.hidden = s !== 'upload';
    f.path.el.hidden = s !== 'path';
  };
  const fillBases = async () => {
    const vols = await volumesOf(f.pool.input.value);
    mount(f.base.input, vols.map((v) => h('option', {value: v.name, selected: v.name === init.base}, `${v.name} (${v.format})`)));
  };
  const defaultName = () => {
    const s = f.source.input.value;
    const fmt = s === 'overlay' ? 'qcow2' : s === 'copy' ? ((f.base.input.value.match(/\.(qcow2|raw)$/) || [])[1] || 'img')
      : f.format.input.value;
    return `${guestName() || 'guest'}-disk${i}.${fmt}`;
  };
  f.source.input.addEventListener('change', show);
  f.pool.input.addEventListener('change', fillBases);
  show();
  fillBases();
  return {
    el, f, rowError, progress, defaultName,
    check() {
      Object.values(f).forEach((x) => x.set(''));
      const s = f.source.input.value, vol = f.volume.input.value || defaultName();
      let ok = true;
      const bad = (x, msg) => { x.set(msg); ok = false; };
      if (s === 'path') {
        if (!f.path.input.value.startsWith('/')) bad(f.path, 'an absolute path');
        return ok;
      }
      if (!f.pool.input.value) bad(f.pool, 'define a storage pool first');
      if (!NAME.test(vol)) bad(f.volume, '1-64 of A-Z a-z 0-9 _ . + -, not starting with . or -');
      if (s === 'new' && !SIZE.test(f.capacity.input.value)) bad(f.capacity, 'bytes, or a size like 512M or 10G');
      if ((s === 'copy' || s === 'overlay') && !f.base.input.value) bad(f.base, 'the pool has no volume to start from');
      if (s === 'upload' && !f.file.input.files.length) bad(f.file, 'choose a file');
      return ok;
    },
  };
}

function nicRow(i, networks, init = {}, remove) {
  const f = {
    type: field('NIC type', select('type', [['network', 'Network'], ['bridge', 'Bridge'], ['direct', 'Host device']],
      init.type || 'network')),
    source: field('Network / device', h('input', {name: 'source', list: 'net-names', value: init.source || (networks[0] || {}).name || ''})),
  };
  const el = h('fieldset', {class: 'form nic', dataset: {nic: i}}, h('legend', {}, `NIC ${i + 1}`),
    Object.values(f).map((x) => x.el), h('button', {type: 'button', onclick: remove}, 'Remove'));
  return {
    el, f,
    check() {
      f.source.set(/^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,14}$/.test(f.source.input.value) ? ''
        : 'a network or interface name (1-15 characters)');
      return !f.source.error.textContent;
    },
    value: () => ({type: f.type.input.value, source: f.source.input.value}),
  };
}

export async function newGuestPage(outlet, templateName) {
  const [templates, pools, networks] = await Promise.all([get('/v1/templates'), get('/v1/pools'), get('/v1/networks')]);
  const volCache = {};
  const volumesOf = async (pool) => (pool ? (volCache[pool] ||= await get(`/v1/pools/${q(pool)}/volumes`)) : []);
  const g = {
    template: field('Template', select('template', [['', 'None: from scratch'], ...templates.map((t) => [t.name, t.name])],
      templateName || '')),
    name: field('Name', h('input', {name: 'name', required: true, autocomplete: 'off'})),
    memory_mib: field('Memory (MiB)', h('input', {name: 'memory_mib', type: 'number', value: 64})),
    vcpus: field('vCPUs', h('input', {name: 'vcpus', type: 'number', value: 1})),
    kernel: field('Kernel', h('input', {name: 'kernel', placeholder: '/boot/vmlinuz'})),
    initrd: field('Initrd', h('input', {name: 'initrd'})),
    cmdline: field('Command line', h('input', {name: 'cmdline', value: 'console=ttyS0'})),
  };
  const start = h('input', {type: 'checkbox', name: 'start'});
  const disksBox = h('div', {id: 'disks'}), nicsBox = h('div', {id: 'nics'});
  const formError = h('div', {class: 'form-error', role: 'alert', id: 'wizard-error'});
  const status = h('p', {class: 'muted', id: 'wizard-status'});
  let disks = [], nics = [];
  const redraw = () => { mount(disksBox, disks.map((d) => d.el)); mount(nicsBox, nics.map((n) => n.el)); };
  const addDisk = (init) => {
    const row = diskRow(disks.length, pools, volumesOf, () => g.name.input.value, init,
      () => { disks = disks.filter((d) => d !== row); redraw(); });
    disks.push(row); redraw();
  };
  const addNic = (init) => {
    const row = nicRow(nics.length, networks, init, () => { nics = nics.filter((n) => n !== row); redraw(); });
    nics.push(row); redraw();
  };
  const fromTemplate = (name) => {
    const t = templates.find((x) => x.name === name);
    disks = []; nics = [];
    if (t) {
      g.memory_mib.input.value = t.memory_mib; g.vcpus.input.value = t.vcpus;
      g.kernel.input.value = t.os.kernel; g.initrd.input.value = t.os.initrd || ''; g.cmdline.input.value = t.os.cmdline;
      t.disks.forEach(addDisk); t.interfaces.forEach(addNic);
    }
    redraw();
  };
  g.template.input.addEventListener('change', () => fromTemplate(g.template.input.value));

  function check() {
    let ok = true;
    const bad = (x, msg) => { x.set(msg); if (msg) ok = false; };
    Object.values(g).forEach((x) => x.set(''));
    formError.textContent = '';
    bad(g.name, NAME.test(g.name.input.value) ? '' : '1-64 of A-Z a-z 0-9 _ . + -, not starting with . or -');
    const mem = Number(g.memory_mib.input.value), cpus = Number(g.vcpus.input.value);
    bad(g.memory_mib, Number.isInteger(mem) && mem >= 8 && mem <= 1048576 ? '' : 'a whole number from 8 to 1048576');
    bad(g.vcpus, Number.isInteger(cpus) && cpus >= 1 && cpus <= 64 ? '' : 'a whole number from 1 to 64');
    bad(g.kernel, g.kernel.input.value.startsWith('/') ? '' : "the kernel's absolute path on the host");
    bad(g.initrd, !g.initrd.input.value || g.initrd.input.value.startsWith('/') ? '' : 'an absolute path, or empty');
    for (const d of disks) ok = d.check() && ok;
    for (const n of nics) ok = n.check() && ok;
    return ok;
  }

  // The API's message names its field: "domain name", "memory_mib", "os.kernel", "disks[1]", "interfaces[0]".
  function showApiError(e) {
    const m = e.message;
    const disk = m.match(/^disks\[(\d+)\]/), nic = m.match(/^interfaces\[(\d+)\]/);
    if (disk && disks[disk[1]]) return mount(disks[disk[1]].rowError, m);
    if (nic && nics[nic[1]]) return nics[nic[1]].f.source.set(m);
    for (const [key, f] of [['domain name', g.name], ['"memory_mib"', g.memory_mib], ['memory_mib', g.memory_mib],
      ['"vcpus"', g.vcpus], ['vcpus', g.vcpus], ['os.kernel', g.kernel], ['"kernel"', g.kernel], ['os.initrd', g.initrd],
      ['cmdline', g.cmdline]])
      if (m.includes(key)) return f.set(m);
    if (e.status === 409 && m.includes(g.name.input.value)) return g.name.set(m);
    formError.textContent = m;
  }

  // Makes disk i's volume (or none, for a host file): its definition entry.
  async function makeDisk(d, made) {
    const s = d.f.source.input.value, pool = d.f.pool.input.value, vol = d.f.volume.input.value || d.defaultName();
    if (s === 'path') return {path: d.f.path.input.value};
    const base = `/v1/pools/${q(pool)}/volumes`;
    try {
      if (s === 'new') {
        await post(base, {name: vol, capacity: d.f.capacity.input.value, format: d.f.format.input.value});
      } else if (s === 'upload') {
        const file = d.f.file.input.files[0];
        d.progress.hidden = false;
        status.textContent = `uploading ${file.name}…`;
        await upload(`${base}/${q(vol)}/data?format=${q(d.f.format.input.value)}`, file, (done, total) => {
          d.progress.value = total ? Math.round((done / total) * 100) : 0;
          status.textContent = `uploading ${file.name}: ${bytes(done)} of ${bytes(total)}`;
        }).promise;
      } else {
        status.textContent = `${s === 'copy' ? 'copying' : 'making an overlay of'} ${d.f.base.input.value}…`;
        await post(`${base}/${q(d.f.base.input.value)}/clone`, {name: vol, mode: s});
      }
    } catch (e) {
      (e.message.startsWith('capacity') || e.message.includes('"capacity"') ? d.f.capacity
        : e.status === 409 ? d.f.volume : {set: (m) => mount(d.rowError, m)}).set(e.message);
      throw e;
    }
    made.push(`${base}/${q(vol)}`);
    return {pool, volume: vol};
  }

  const submit = h('button', {type: 'submit', class: 'primary'}, 'Create guest');
  const form = h('form', {class: 'wizard', 'aria-label': 'New guest', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!check()) return;
      submit.disabled = true;
      const made = [];
      const name = g.name.input.value;
      try {
        const def = {name, memory_mib: Number(g.memory_mib.input.value), vcpus: Number(g.vcpus.input.value),
          os: {kernel: g.kernel.input.value, cmdline: g.cmdline.input.value}, disks: [], interfaces: nics.map((n) => n.value())};
        if (g.initrd.input.value) def.os.initrd = g.initrd.input.value;
        for (const d of disks) def.disks.push(await makeDisk(d, made));
        status.textContent = `defining ${name}…`;
        await post('/v1/domains', def);
      } catch (err) {
        if (!disks.some((d) => d.rowError.textContent || Object.values(d.f).some((x) => x.error.textContent)))
          showApiError(err);
        for (const v of made.reverse()) await del(v).catch(() => {}); // nothing of this attempt stays
        status.textContent = made.length ? `nothing was kept (${made.length} volume(s) deleted again)` : '';
        submit.disabled = false;
        return;
      }
      if (start.checked) {
        try { await post(`/v1/domains/${q(name)}/start`); } catch (err) { toast(`${name} is defined; start failed: ${err.message}`, true); }
      }
      toast(`${name}: created`);
      location.hash = `#/guests/${q(name)}`;
    }},
    h('div', {class: 'form'}, Object.values(g).map((x) => x.el)),
    h('h2', {}, 'Disks'), disksBox, h('button', {type: 'button', id: 'add-disk', onclick: () => addDisk()}, 'Add disk'),
    h('h2', {}, 'Network interfaces'), nicsBox, h('button', {type: 'button', id: 'add-nic', onclick: () => addNic()}, 'Add NIC'),
    h('datalist', {id: 'net-names'}, networks.map((n) => h('option', {value: n.name}))),
    h('p', {}, h('label', {}, start, ' Start it once created')),
    submit, status, formError);
  outlet.append(h('p', {}, h('a', {href: '#/guests'}, '← Guests')), h('h1', {}, 'New guest'), form);
  fromTemplate(templateName || '');
}
