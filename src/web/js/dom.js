// Building the page without HTML strings: every text goes in as a text node
// (textContent), so a guest named "<script>" shows as those characters.

// h('button', {class: 'primary', onclick: fn, disabled: true}, 'Start')
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces el's content.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function toast(message, bad = false) {
  const box = document.getElementById('toast');
  const item = h('div', {class: bad ? 'bad' : ''}, message);
  box.append(item);
  setTimeout(() => item.remove(), bad ? 8000 : 4000);
}

// [label, value] pairs as <dt>/<dd> for a <dl class="props">.
export function pairs(list) {
  return list.filter((p) => p && p.length).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}
