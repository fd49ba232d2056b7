// The one way the page talks to stratad: JSON over /v1, with the session's
// CSRF token on every request that changes something.
let csrf = null;
let onLoggedOut = () => {};

export function setCsrf(token) { csrf = token; }
export function setLoggedOutHandler(fn) { onLoggedOut = fn; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function headers(method, json) {
  const hd = {};
  if (method !== 'GET' && csrf) hd['X-CSRF-Token'] = csrf;
  if (json) hd['Content-Type'] = 'application/json';
  return hd;
}

async function failure(status, text) {
  let message = `HTTP ${status}`;
  try { message = JSON.parse(text).error.message || message; } catch { /* not JSON */ }
  return new ApiError(status, message);
}

export async function api(method, path, body) {
  const resp = await fetch(path, {
    method, credentials: 'same-origin', headers: headers(method, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) {
    const e = await failure(resp.status, text);
    if (resp.status === 401 && path !== '/v1/session') onLoggedOut(e.message);
    throw e;
  }
  return text ? JSON.parse(text) : null;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const del = (path) => api('DELETE', path);

// PUT of a file with progress (XMLHttpRequest: fetch has no upload progress).
// Returns {promise, abort}.
export function upload(path, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('PUT', path);
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText || 'null'));
      else reject(await failure(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed (connection lost)'));
    xhr.onabort = () => reject(new ApiError(0, 'upload cancelled'));
    xhr.send(file);
  });
  return {promise, abort: () => xhr.abort()};
}

export const q = encodeURIComponent;
