// Guest templates (/v1/templates): list, create from a guest, edit, delete,
// and "New guest" from one (the wizard, #/new-guest/NAME).
import {get, post, api, del, q} from '../api.js';
import {h, mount, toast} from '../dom.js';
import {formView} from '../form.js';
import {mib} from '../format.js';
import {canWrite} from '../session.js';
import {tableView} from '../table.js';

// "new qcow2 64M in p", "overlay of p/base", "/path (shared)"
export function diskText(d) {
  if (d.path) return `${d.path} (shared${d.readonly ? ', read-only' : ''})`;
  if (d.base) return `${d.mode} of ${d.pool}/${d.base}`;
  return `new ${d.format} ${d.capacity} in ${d.pool}`;
}

const disksText = (t) => t.disks.map(diskText).join(', ');
const nicsText = (t) => t.interfaces.map((n) => `${n.type} ${n.source}`).join(', ');

function editForm(t, done) {
  const form = formView({label: `Edit ${t.name}`, submit: 'Save', fields: [
    {name: 'description', label: 'Description', value: t.description},
    {name: 'memory_mib', label: 'Memory (MiB)', type: 'number', required: true, min: 8, max: 1048576, value: t.memory_mib},
    {name: 'vcpus', label: 'vCPUs', type: 'number', required: true, min: 1, max: 64, value: t.vcpus},
    {name: 'kernel', label: 'Kernel', required: true, pattern: '/.*', value: t.os.kernel},
    {name: 'cmdline', label: 'Command line', value: t.os.cmdline},
  ], onSubmit: async (v) => {
    const os = {...t.os, kernel: v.kernel, cmdline: v.cmdline};
    const body = {description: v.description, memory_mib: Number(v.memory_mib), vcpus: Number(v.vcpus), os,
      disks: t.disks, interfaces: t.interfaces, on_reboot: t.on_reboot, on_crash: t.on_crash};
    await api('PUT', `/v1/templates/${q(t.name)}`, body);
    toast(`${t.name}: saved`);
    done();
  }});
  return form.el;
}

export async function templatesPage(outlet) {
  const editor = h('div', {id: 'template-editor'});
  const columns = [
    {key: 'name', label: 'Name'},
    {key: 'memory_mib', label: 'Memory', render: (t) => mib(t.memory_mib)},
    {key: 'vcpus', label: 'vCPUs'},
    {key: 'disks', label: 'Disks', narrow: true, value: disksText, render: disksText},
    {key: 'interfaces', label: 'NICs', narrow: true, value: nicsText, render: nicsText},
    {key: 'description', label: 'Description'},
  ];
  if (canWrite())
    columns.push({key: 'actions', label: 'Actions', sortable: false, class: 'actions', value: () => '',
      render: (t) => [
        h('a', {href: `#/new-guest/${q(t.name)}`, class: 'button', dataset: {action: 'new-guest'}}, 'New guest'),
        h('button', {type: 'button', dataset: {action: 'edit'}, onclick: () => {
          mount(editor, h('h2', {}, `Edit ${t.name}`), editForm(t, () => { mount(editor); refresh(); }));
          editor.scrollIntoView();
        }}, 'Edit'),
        h('button', {type: 'button', class: 'danger', dataset: {action: 'delete'}, onclick: async () => {
          if (!confirm(`Delete template ${t.name}?`)) return;
          try { await del(`/v1/templates/${q(t.name)}`); toast(`${t.name}: deleted`); refresh(); }
          catch (e) { toast(`${t.name}: delete failed: ${e.message}`, true); }
        }}, 'Delete')]});
  const table = tableView({columns, rowKey: (t) => t.name, empty: 'No templates', label: 'Templates'});
  outlet.append(h('h1', {}, 'Templates'), table.el, editor);
  if (canWrite()) {
    const guests = (await get('/v1/domains')).map((d) => d.name).sort();
    const form = formView({label: 'Template from a guest', submit: 'Create template', fields: [
      {name: 'guest', label: 'Guest', options: guests},
      {name: 'name', label: 'Template name', required: true, pattern: '[A-Za-z0-9_+][A-Za-z0-9_.+\\-]{0,63}'},
      {name: 'description', label: 'Description'},
    ], onSubmit: async (v) => {
      await post('/v1/templates', {name: v.name, guest: v.guest, description: v.description});
      toast(`template ${v.name} created`);
      refresh();
    }});
    outlet.append(h('h2', {}, 'Template from a guest'),
      h('p', {class: 'muted'}, 'Its memory, vCPUs, kernel and NICs; its pool volumes become bases each new guest copies.'),
      form.el);
  }
  async function refresh() {
    try { table.update(await get('/v1/templates')); } catch (e) { toast(`templates: ${e.message}`, true); }
  }
  await refresh();
}
