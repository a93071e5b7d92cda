// The FRS API as the console calls it: the same public routes as any client,
// authenticated with an IAM token from POST /v3/auth/tokens.
//
// The token lives in this module and in sessionStorage (this tab only, gone
// when it closes); never in localStorage or a cookie. Signing out, a 401 or
// FRS.0002 (the token expired or is invalid) forgets it.

const KEY = 'openfrs.console.session';
let session = restore();
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

function restore() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.token && s.projectId && Date.parse(s.expiresAt) > Date.now()) return s;
  } catch (e) {
    // unreadable: start signed out
  }
  sessionStorage.removeItem(KEY);
  return null;
}

export function current() {
  if (session && Date.parse(session.expiresAt) <= Date.now()) signOut('The session expired; sign in again.');
  return session;
}

export function onSessionChange(fn) {
  listeners.add(fn);
}

export function signOut(reason) {
  session = null;
  sessionStorage.removeItem(KEY);
  for (const fn of listeners) fn(null, reason);
}

// URLs are relative to the page (/console, or /STAGE/console behind API Gateway).
export function url(path, query) {
  const u = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  }
  return u.toString();
}

export function projectPath(rest) {
  return `v2/${encodeURIComponent(current().projectId)}/${rest}`;
}

export function setPath(name, rest = '') {
  return projectPath(`face-sets/${encodeURIComponent(name)}${rest}`);
}

function toError(status, data, requestId) {
  if (data && data.error_code) return new ApiError(status, data.error_code, data.error_msg || '', requestId);
  if (data && data.error && data.error.message) {
    return new ApiError(status, String(data.error.code || status), data.error.message, requestId);
  }
  if (status === 0) return new ApiError(0, 'NETWORK', 'The server could not be reached.', requestId);
  return new ApiError(status, `HTTP ${status}`, 'The server answered with an error.', requestId);
}

// One request. body: {json} or {form: FormData}; onProgress(fraction) while
// the body uploads (XMLHttpRequest: fetch cannot report upload progress).
export function request(method, path, { json, form, query, onProgress, auth = true } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url(path, query));
    if (auth) {
      const s = current();
      if (!s) {
        reject(new ApiError(401, 'SIGNED_OUT', 'Sign in first.'));
        return;
      }
      xhr.setRequestHeader('X-Auth-Token', s.token);
    }
    let body = null;
    if (json !== undefined) {
      xhr.setRequestHeader('Content-Type', 'application/json');
      body = typeof json === 'string' ? json : JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    if (onProgress) {
      xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
      xhr.upload.addEventListener('load', () => onProgress(1));
    }
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch (e) {
        data = null;
      }
      const rid = xhr.getResponseHeader('X-Request-Id');
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ data, status: xhr.status, headers: xhr });
        return;
      }
      const err = toError(xhr.status, data, rid);
      // 401, or FRS.0002 (403): the token is expired, forged or of a deleted project.
      if (auth && (xhr.status === 401 || err.code === 'FRS.0002')) signOut('The token was refused; sign in again.');
      reject(err);
    });
    xhr.addEventListener('error', () => reject(toError(0, null, null)));
    xhr.send(body);
  });
}

export async function call(method, path, opts) {
  return (await request(method, path, opts)).data;
}

// POST /v3/auth/tokens: user name, password, account (domain) and project
// (a 32-hex id, or a name).
export async function signIn({ domain, user, password, project }) {
  const scope = /^[0-9a-f]{32}$/i.test(project) ? { id: project } : { name: project };
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } },
      scope: { project: scope },
    },
  };
  const res = await request('POST', 'v3/auth/tokens', { json: body, auth: false });
  const token = res.headers.getResponseHeader('X-Subject-Token');
  const info = (res.data && res.data.token) || {};
  if (!token || !info.project) throw new ApiError(res.status, 'IAM', 'The token answer has no token.');
  session = {
    token,
    projectId: info.project.id,
    projectName: info.project.name,
    user: (info.user && info.user.name) || user,
    expiresAt: info.expires_at,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  for (const fn of listeners) fn(session);
  return session;
}

export async function listSets() {
  return (await call('GET', projectPath('face-sets'))).face_sets_info || [];
}

export async function getSet(name) {
  return (await call('GET', setPath(name))).face_set_info;
}
