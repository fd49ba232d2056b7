// A form view: fields checked before sending (required, pattern, min/max),
// the API's error shown next to the field it names, else below the form.
//   formView({fields: [{name, label, type, required, pattern, min, max, options, value, hint}],
//             submit: 'Create', onSubmit: async (values) => {...}})
import {h, mount} from './dom.js';

export function formView({fields, submit, onSubmit, label}) {
  const errors = {}, inputs = {};
  const formError = h('div', {class: 'form-error', role: 'alert'});
  const button = h('button', {type: 'submit', class: 'primary'}, submit);
  const form = h('form', {class: 'form', 'aria-label': label || submit, novalidate: true},
    fields.map((f) => {
      const attrs = {name: f.name, required: f.required, pattern: f.pattern, min: f.min, max: f.max,
        placeholder: f.placeholder, value: f.value};
      inputs[f.name] = f.options
        ? h('select', {name: f.name}, f.options.map((o) => h('option', {value: o}, o)))
        : h('input', {type: f.type || 'text', ...attrs});
      errors[f.name] = h('span', {class: 'field-error'});
      return h('label', {}, f.label, inputs[f.name], errors[f.name]);
    }),
    button, formError);

  function check() {
    let ok = true;
    for (const f of fields) {
      const el = inputs[f.name];
      let msg = '';
      if (f.type !== 'file' && !el.checkValidity()) msg = el.validationMessage;
      else if (f.type === 'file' && f.required && !el.files.length) msg = 'choose a file';
      else if (f.validate) msg = f.validate(el.value) || '';
      errors[f.name].textContent = msg;
      ok = ok && !msg;
    }
    return ok;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    if (!check()) return;
    const values = {};
    for (const f of fields) values[f.name] = f.type === 'file' ? inputs[f.name].files[0] : inputs[f.name].value;
    button.disabled = true;
    try {
      await onSubmit(values);
      form.reset();
    } catch (err) {
      const named = fields.find((f) => err.message.includes(`"${f.name}"`) || err.message.startsWith(f.name));
      mount(named ? errors[named.name] : formError, err.message);
    } finally {
      button.disabled = false;
    }
  });
  return {el: form, inputs};
}
