// Bosun's web UI: previews grouped by repository, then by branch and pull request, kept live by
// the REST API's server-sent events. Plain DOM, no framework. Only a page of rows is in the
// document at a time; more rows are added as the end of the list scrolls into view, so 10,000
// previews cost one pass over the data per change, not 10,000 elements.

const PAGE = 24;
/** Previews shown per branch or pull request until its "show all" is pressed. */
const CARDS = 6;
const TOKEN_KEY = 'bosun.token';
const LOG_LIMIT = 1_000_000;
const $ = (id) => document.getElementById(id);

const state = {
  /** "namespace/name" → PreviewView */
  previews: new Map(),
  /** Fork pull requests whose commit waits for its preview (GET /api/v1/approvals). */
  approvals: [],
  /** The approvals the list shows, by the index their buttons carry. */
  shownApprovals: [],
  /** How many times the approvals were read: an older answer is dropped. */
  approvalsAsked: 0,
  snapshot: false,
  /** A snapshot came before: the next one follows a reconnect. */
  reconnected: false,
  whoami: { authenticated: false, scopes: [] },
  filters: { repository: '', branch: '', pullRequest: '', phase: '', q: '' },
  limit: PAGE,
  /** rows whose every preview is shown */
  expanded: new Set(),
  /** row key → { sig, el } of rendered rows and repository headings */
  rendered: new Map(),
  repoOptions: '',
  events: undefined,
  logs: undefined,
  renderQueued: false,
  firstScreen: false,
};

// ---------------------------------------------------------------- API

const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

function headers(extra) {
  const h = { accept: 'application/json', ...extra };
  const t = token();
  if (t) h.authorization = `Bearer ${t}`;
  return h;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function failure(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, message);
}

/** A change made with the GitHub login cookie carries the CSRF token whoami gave this page. */
const csrf = (method) =>
  method !== 'GET' && state.whoami.csrfToken ? { 'x-bosun-csrf': state.whoami.csrfToken } : undefined;

async function api(method, path, body) {
  const json = body === undefined ? undefined : { 'content-type': 'application/json' };
  const res = await fetch(path, {
    method,
    headers: headers({ ...csrf(method), ...json }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? undefined : res.json().catch(() => undefined);
}

const previewPath = (p) =>
  `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/previews/${encodeURIComponent(p.name)}`;

/** A GitHub login may operate where its repository permission allows: the server decides. */
const canOperate = () =>
  state.whoami.via === 'github' || state.whoami.scopes.some((s) => s === 'operate' || s === 'admin');

// ---------------------------------------------------------------- sign-in

async function refreshWhoami() {
  try {
    state.whoami = await api('GET', '/api/v1/whoami');
  } catch (e) {
    if (e.status === 401 && token()) {
      sessionStorage.removeItem(TOKEN_KEY);
      notice('The token was not accepted.');
      connectEvents();
      return refreshWhoami();
    }
    state.whoami = { authenticated: false, scopes: [] };
  }
  const { authenticated, subject, scopes, via, loginUrl } = state.whoami;
  const github = via === 'github';
  $('who').textContent = authenticated
    ? `Signed in as ${subject ?? 'token'} (${github ? 'GitHub' : scopes.join(', ') || 'no scopes'})`
    : 'Not signed in';
  $('signout-button').hidden = !token() && !github;
  $('token').hidden = !!token() || github;
  $('signin-button').hidden = !!token() || github;
  $('github-signin').hidden = !loginUrl || authenticated;
  if (loginUrl) $('github-signin').href = loginUrl;
  state.rendered.clear();
  scheduleRender();
  loadApprovals();
}

function setupSignin() {
  $('signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = $('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    notice('');
    await refreshWhoami();
    connectEvents();
  });
  $('signout-button').addEventListener('click', async () => {
    if (!token() && state.whoami.via === 'github') {
      const res = await fetch('/auth/logout', { method: 'POST', headers: headers(csrf('POST')) });
      if (!res.ok) notice(`Sign out: ${(await failure(res)).message}`);
    }
    sessionStorage.removeItem(TOKEN_KEY);
    await refreshWhoami();
    connectEvents();
  });
}

function notice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}

// ---------------------------------------------------------------- live updates

/** Reads /api/v1/events with fetch (EventSource cannot send the Authorization header). */
function connectEvents() {
  state.events?.abort();
  const controller = new AbortController();
  state.events = controller;
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch('/api/v1/events', {
          headers: headers({ accept: 'text/event-stream' }),
          signal: controller.signal,
        });
        if (res.status === 401 || res.status === 403) {
          const err = await failure(res);
          $('summary').textContent = token()
            ? `This token cannot read previews: ${err.message}`
            : 'Sign in to see previews.';
          return;
        }
        if (!res.ok || !res.body) throw await failure(res);
        await readEvents(res.body, () => {
          delay = 1000;
        });
      } catch (e) {
        if (controller.signal.aborted) return;
        $('summary').textContent = `Live updates interrupted (${e.message}); reconnecting…`;
      }
      if (controller.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  run();
}

async function readEvents(body, onSnapshot) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let from = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n', from); end >= 0; end = buffer.indexOf('\n\n', from)) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      from = 0;
      const event = parseEvent(block);
      if (event) {
        if (event.type === 'snapshot') onSnapshot();
        apply(event);
      }
    }
    from = Math.max(0, buffer.length - 1);
  }
}

function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const raw of block.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return undefined;
  return { type, data: JSON.parse(data.join('\n')) };
}

const keyOf = (p) => `${p.namespace}/${p.name}`;

function apply({ type, data }) {
  if (type === 'snapshot') {
    performance.mark('bosun:snapshot');
    state.previews = new Map(data.items.map((p) => [keyOf(p), p]));
    state.snapshot = true;
    if (state.reconnected) loadApprovals(); // what changed while the stream was down
    state.reconnected = true;
  } else if (type === 'upsert') {
    state.previews.set(keyOf(data), data);
    if (data.pullRequest != null) forgetApproved(data);
  } else if (type === 'delete') {
    // An undeployed pull-request preview of a fork: its commit may wait for approval again.
    if (state.previews.get(keyOf(data))?.pullRequest != null) loadApprovals();
    state.previews.delete(keyOf(data));
  } else {
    // A repository's pull requests from forks changed: read what waits again.
    if (type === 'approvals') loadApprovals();
    return;
  }
  scheduleRender();
}

// ---------------------------------------------------------------- grouping and filtering

const repoKey = (p) => `${p.namespace}/${p.repository}`;
const repoLabel = (p) => p.forgeRepository || p.repository;

function matches(p, f, q) {
  if (f.repository && repoKey(p) !== f.repository) return false;
  if (f.phase && (p.phase ?? 'Pending') !== f.phase) return false;
  if (f.branch && !p.branch.toLowerCase().includes(f.branch.toLowerCase())) return false;
  if (f.pullRequest && String(p.pullRequest ?? '') !== f.pullRequest.replace(/^#/, '').trim()) return false;
  if (q) {
    const hit =
      p.name.toLowerCase().includes(q) ||
      p.branch.toLowerCase().includes(q) ||
      p.commit.startsWith(q) ||
      (p.forgeRepository ?? '').toLowerCase().includes(q) ||
      (p.pullRequest != null && `#${p.pullRequest}` === q);
    if (!hit) return false;
  }
  return true;
}

/** The flat list the page shows: a heading per repository, then a row per branch or pull request. */
function computeItems() {
  const f = state.filters;
  const q = f.q.trim().toLowerCase();
  const repos = new Map();
  let matching = 0;
  for (const p of state.previews.values()) {
    if (!matches(p, f, q)) continue;
    matching++;
    const rk = repoKey(p);
    let repo = repos.get(rk);
    if (!repo) {
      repo = { key: rk, label: repoLabel(p), sample: p, rows: new Map(), count: 0 };
      repos.set(rk, repo);
    }
    repo.count++;
    const isPr = p.pullRequest != null;
    const key = `${rk}|${isPr ? `pr:${p.pullRequest}` : `branch:${p.branch}`}`;
    let row = repo.rows.get(key);
    if (!row) {
      row = { key, isPr, pullRequest: p.pullRequest, branch: p.branch, newest: '', previews: [] };
      repo.rows.set(key, row);
    }
    row.previews.push(p);
    if ((p.createdAt ?? '') > row.newest) row.newest = p.createdAt ?? '';
  }
  const items = [];
  let rowCount = 0;
  for (const repo of [...repos.values()].sort(
    (a, b) => a.label.localeCompare(b.label) || a.key.localeCompare(b.key),
  )) {
    items.push({ kind: 'repo', key: `repo|${repo.key}`, repo });
    const rows = [...repo.rows.values()].sort(
      (a, b) =>
        Number(a.isPr) - Number(b.isPr) || b.newest.localeCompare(a.newest) || a.key.localeCompare(b.key),
    );
    for (const row of rows) {
      row.previews.sort(
        (a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.name.localeCompare(b.name),
      );
      items.push({ kind: 'row', key: row.key, row });
      rowCount++;
    }
  }
  return { items, matching, rowCount, repos };
}

// ---------------------------------------------------------------- rendering

/** Creates an element; children are nodes or strings (always text, never parsed as HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null && c !== false) el.append(c);
  return el;
}

/** Only http(s) links from the data become hrefs. */
const safeUrl = (u) => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : undefined);

function link(href, text, label) {
  const url = safeUrl(href);
  return url
    ? h('a', { href: url, rel: 'noopener noreferrer', target: '_blank', 'aria-label': label }, text)
    : text;
}

/** The repository's web page, from a commit link (https://host/owner/name/commit/sha). */
const repoWebUrl = (p) => safeUrl(p.links?.commit)?.replace(/\/commit\/[^/]+$/, '');

function ago(iso) {
  const t = Date.parse(iso ?? '');
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function renderRepo({ repo }) {
  const p = repo.sample;
  const web = repoWebUrl(p);
  return h(
    'h2',
    { class: 'repo-head' },
    web ? link(web, repo.label) : repo.label,
    h(
      'span',
      { class: 'count' },
      `${repo.count} preview${repo.count === 1 ? '' : 's'} · ${p.namespace}/${p.repository}`,
    ),
  );
}

function renderRow({ row }) {
  const first = row.previews[0];
  const web = repoWebUrl(first);
  const title = row.isPr
    ? [
        h('span', { class: 'kind' }, 'pull request'),
        link(first.links?.pullRequest, `#${row.pullRequest}`, `pull request ${row.pullRequest}`),
        ` ${row.branch}`,
        first.targetBranch ? ` → ${first.targetBranch}` : '',
      ]
    : [
        h('span', { class: 'kind' }, 'branch'),
        web ? link(`${web}/tree/${encodeURIComponent(row.branch)}`, row.branch) : row.branch,
      ];
  const label = row.isPr ? `pull request #${row.pullRequest}` : `branch ${row.branch}`;
  const shown = state.expanded.has(row.key) ? row.previews : row.previews.slice(0, CARDS);
  const hidden = row.previews.length - shown.length;
  return h(
    'div',
    { class: 'row', role: 'group', 'aria-label': label },
    h('h3', { class: 'row-head' }, ...title),
    h(
      'div',
      { class: 'cards' },
      ...shown.map(renderCard),
      hidden > 0
        ? h('button', { type: 'button', class: 'expand', dataset: { row: row.key } }, `Show ${hidden} older`)
        : undefined,
    ),
  );
}

function renderCard(p) {
  const phase = p.phase ?? 'Pending';
  const data = { namespace: p.namespace, name: p.name };
  const button = (action, text) =>
    h('button', { type: 'button', dataset: { ...data, action }, 'aria-label': `${text} ${p.name}` }, text);
  const running = p.state === 'Running';
  const actions = [
    safeUrl(p.url)
      ? h('a', { href: p.url, rel: 'noopener noreferrer', target: '_blank' }, 'Open')
      : undefined,
    button('logs', 'Logs'),
  ];
  if (canOperate()) {
    actions.push(running ? button('stop', 'Stop') : button('start', 'Start'), button('reset', 'Reset'));
    actions.push(button('undeploy', 'Undeploy'));
  }
  const reason = p.ready?.reason && p.ready.reason !== phase ? p.ready.reason : '';
  return h(
    'article',
    { class: 'card', 'aria-label': p.name, dataset: { ...data, phase } },
    h(
      'div',
      { class: 'title' },
      h('h4', {}, p.name),
      h('span', { class: `badge phase-${phase}`, title: p.ready?.message ?? '' }, phase),
    ),
    reason ? h('div', { class: 'reason' }, reason) : undefined,
    h(
      'div',
      { class: 'meta' },
      h(
        'span',
        {},
        'commit ',
        link(p.links?.commit, h('code', {}, p.commit.slice(0, 7)), `commit ${p.commit}`),
      ),
      p.createdAt ? h('time', { datetime: p.createdAt, title: p.createdAt }, ago(p.createdAt)) : undefined,
      p.buildStatus ? h('span', {}, `build ${p.buildStatus}`) : undefined,
      p.initStatus ? h('span', {}, `init ${p.initStatus}`) : undefined,
    ),
    h('div', { class: 'actions' }, ...actions),
  );
}

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    render();
  });
}

function render() {
  const { items, matching, rowCount, repos } = computeItems();
  updateRepoOptions();
  const list = $('list');
  const visible = items.slice(0, state.limit);
  const operate = canOperate();
  const keep = new Map();
  let cursor = list.firstElementChild;
  for (const item of visible) {
    const payload =
      item.kind === 'repo'
        ? [item.repo.label, item.repo.count]
        : [
            state.expanded.has(item.key),
            item.row.previews.length,
            item.row.previews.slice(0, state.expanded.has(item.key) ? undefined : CARDS),
          ];
    const sig = `${operate}|${JSON.stringify(payload)}`;
    let entry = state.rendered.get(item.key);
    if (!entry || entry.sig !== sig) {
      const el = item.kind === 'repo' ? renderRepo(item) : renderRow(item);
      if (entry) {
        if (entry.el.contains(document.activeElement)) restoreFocus(entry.el, el);
        if (entry.el === cursor) cursor = cursor.nextElementSibling;
        entry.el.remove();
      }
      entry = { sig, el };
    }
    keep.set(item.key, entry);
    if (entry.el !== cursor) list.insertBefore(entry.el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
  state.rendered = keep;
  $('more').hidden = items.length <= state.limit;

  if (!state.snapshot) return;
  const total = state.previews.size;
  const shownRows = visible.filter((i) => i.kind === 'row').length;
  $('summary').textContent =
    total === 0
      ? 'No previews yet.'
      : `${matching} of ${total} previews in ${rowCount} branches and pull requests of ${repos.size} ` +
        `repositor${repos.size === 1 ? 'y' : 'ies'}` +
        (shownRows < rowCount ? `; showing the first ${shownRows}` : '');
  if (!state.firstScreen) {
    state.firstScreen = true;
    performance.mark('bosun:rendered');
    // after the frame that paints this DOM
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark('bosun:first-screen');
        document.documentElement.dataset.firstScreen = 'true';
      }),
    );
  }
}

/** Keeps keyboard focus on the same button (or its start/stop twin) when its row is re-rendered. */
function restoreFocus(_oldEl, newEl) {
  const focused = document.activeElement;
  const { action, name } = focused?.dataset ?? {};
  if (!action) return;
  const twin = { start: 'stop', stop: 'start' }[action];
  const buttons = [...newEl.querySelectorAll('button[data-action]')].filter((b) => b.dataset.name === name);
  const next =
    buttons.find((b) => b.dataset.action === action) ??
    buttons.find((b) => b.dataset.action === twin) ??
    buttons.find((b) => b.dataset.action === 'logs');
  if (next) queueMicrotask(() => next.focus());
}

function updateRepoOptions() {
  const repos = new Map();
  for (const p of state.previews.values()) if (!repos.has(repoKey(p))) repos.set(repoKey(p), repoLabel(p));
  const sorted = [...repos].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]));
  const sig = JSON.stringify(sorted);
  if (sig === state.repoOptions) return;
  state.repoOptions = sig;
  const select = $('f-repository');
  const labels = new Map();
  for (const [, label] of sorted) labels.set(label, (labels.get(label) ?? 0) + 1);
  select.replaceChildren(
    h('option', { value: '' }, 'All'),
    ...sorted.map(([key, label]) =>
      h(
        'option',
        { value: key, selected: key === state.filters.repository },
        labels.get(label) > 1 ? `${label} (${key})` : label,
      ),
    ),
  );
  if (state.filters.repository && !repos.has(state.filters.repository)) {
    select.append(h('option', { value: state.filters.repository, selected: true }, state.filters.repository));
  }
}

// ---------------------------------------------------------------- filters

const FILTER_FIELDS = {
  repository: 'f-repository',
  branch: 'f-branch',
  pullRequest: 'f-pr',
  phase: 'f-phase',
  q: 'f-q',
};

function setupFilters() {
  const params = new URLSearchParams(location.search);
  for (const [name, id] of Object.entries(FILTER_FIELDS)) {
    state.filters[name] = params.get(name) ?? '';
    const el = $(id);
    if (
      el.tagName === 'SELECT' &&
      state.filters[name] &&
      ![...el.options].some((o) => o.value === state.filters[name])
    ) {
      el.append(h('option', { value: state.filters[name] }, state.filters[name]));
    }
    el.value = state.filters[name];
    el.addEventListener('input', () => {
      state.filters[name] = el.value;
      state.limit = PAGE;
      const next = new URLSearchParams();
      for (const [k, v] of Object.entries(state.filters)) if (v) next.set(k, v);
      const qs = next.toString();
      history.replaceState(null, '', qs ? `?${qs}` : location.pathname);
      scheduleRender();
      if (name === 'repository') renderApprovals();
    });
  }
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  const more = () => {
    state.limit += PAGE;
    scheduleRender();
  };
  $('more-button').addEventListener('click', more);
  new IntersectionObserver(
    (entries) => {
      if (entries.some((e) => e.isIntersecting)) more();
    },
    { rootMargin: '400px' },
  ).observe($('more'));
}

// ---------------------------------------------------------------- actions

const ACTIONS = {
  start: { method: 'POST', suffix: '/start' },
  stop: { method: 'POST', suffix: '/stop' },
  reset: { method: 'POST', suffix: '/reset', confirm: 'Reset %s? Its initialization runs again.' },
  undeploy: { method: 'DELETE', suffix: '', confirm: 'Undeploy %s? Everything it created is deleted.' },
};

function setupActions() {
  $('list').addEventListener('click', async (ev) => {
    const expand = ev.target.closest('button[data-row]');
    if (expand) {
      state.expanded.add(expand.dataset.row);
      scheduleRender();
      return;
    }
    const button = ev.target.closest('button[data-action]');
    if (!button) return;
    const { action, namespace, name } = button.dataset;
    if (action === 'logs') {
      const p = state.previews.get(`${namespace}/${name}`);
      openLogs({ namespace, name }, defaultStep(p));
      return;
    }
    const spec = ACTIONS[action];
    if (!spec) return;
    if (spec.confirm && !window.confirm(spec.confirm.replace('%s', name))) return;
    button.disabled = true;
    try {
      const view = await api(spec.method, previewPath({ namespace, name }) + spec.suffix);
      if (view?.name) apply({ type: 'upsert', data: view });
      notice('');
    } catch (e) {
      notice(`${action} ${name}: ${e.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- approvals

async function loadApprovals() {
  // Reads may overlap (sign-in, a hint, a reconnect): only the last one asked is shown.
  const asked = ++state.approvalsAsked;
  let items;
  try {
    items = (await api('GET', '/api/v1/approvals')).items;
  } catch {
    items = []; // not readable with this sign-in: nothing to show
  }
  if (asked !== state.approvalsAsked) return;
  state.approvals = items;
  renderApprovals();
}

/** A preview of the commit exists now (approved here or elsewhere): it waits no more. */
function forgetApproved(p) {
  const left = state.approvals.filter(
    (a) =>
      !(
        a.namespace === p.namespace &&
        a.repository === p.repository &&
        a.pullRequest === p.pullRequest &&
        a.commit === p.commit
      ),
  );
  if (left.length === state.approvals.length) return;
  state.approvals = left;
  renderApprovals();
}

function renderApprovals() {
  const shown = state.approvals.filter(
    (a) => !state.filters.repository || `${a.namespace}/${a.repository}` === state.filters.repository,
  );
  $('approvals').hidden = shown.length === 0;
  const operate = canOperate();
  $('approvals-list').replaceChildren(
    ...shown.map((a, i) => {
      const label = `pull request #${a.pullRequest} of ${a.forgeRepository ?? a.repository}`;
      return h(
        'li',
        { class: 'approval', 'aria-label': label },
        h('span', { class: 'kind' }, a.forgeRepository ?? a.repository),
        link(a.links?.pullRequest, `#${a.pullRequest}`, label),
        ` ${a.branch} → ${a.targetBranch} from ${a.fork || 'a deleted fork'}, commit `,
        link(a.links?.commit, h('code', {}, a.commit.slice(0, 7)), `commit ${a.commit}`),
        ' ',
        h('time', { datetime: a.updatedAt, title: a.updatedAt }, ago(a.updatedAt)),
        operate
          ? h(
              'button',
              { type: 'button', dataset: { approval: String(i) }, 'aria-label': `Approve ${label}` },
              'Approve',
            )
          : undefined,
      );
    }),
  );
  state.shownApprovals = shown;
}

function setupApprovals() {
  $('approvals-list').addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-approval]');
    const a = button && state.shownApprovals[Number(button.dataset.approval)];
    if (!a) return;
    const what = `commit ${a.commit.slice(0, 7)} of pull request #${a.pullRequest} from ${a.fork || 'a deleted fork'}`;
    if (!window.confirm(`Approve ${what}? Its code runs in the cluster.`)) return;
    button.disabled = true;
    try {
      const { repository, branch, targetBranch, commit, pullRequest } = a;
      const view = await api('POST', `/api/v1/namespaces/${encodeURIComponent(a.namespace)}/previews`, {
        repository,
        branch,
        targetBranch,
        commit,
        pullRequest,
      });
      apply({ type: 'upsert', data: view });
      notice('');
    } catch (e) {
      notice(`Approve ${what}: ${e.message}`);
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- logs

/** The step whose log tells most about the preview now. */
function defaultStep(p) {
  const phase = p?.phase;
  if (phase === 'Pending' || phase === 'Building') return 'build';
  if (phase === 'Initializing') return 'init';
  if (phase === 'Undeploying') return 'cleanup';
  if (phase === 'Stopped') return 'init';
  if (phase === 'Failed') {
    if (p.buildStatus === 'error') return 'build';
    if (p.initStatus === 'failed') return 'init';
  }
  return 'app';
}

function openLogs(preview, step) {
  state.logs?.abort();
  const controller = new AbortController();
  state.logs = controller;
  const panel = $('logs');
  panel.hidden = false;
  panel.dataset.namespace = preview.namespace;
  panel.dataset.name = preview.name;
  panel.dataset.step = step;
  $('logs-title').textContent = `Logs of ${preview.name}`;
  for (const b of panel.querySelectorAll('[data-step]'))
    b.setAttribute('aria-pressed', String(b.dataset.step === step));
  const pre = $('logs-text');
  pre.textContent = '';
  const status = $('logs-state');
  status.textContent = `Following the ${step} logs…`;
  panel.dataset.streaming = 'true';
  (async () => {
    try {
      const res = await fetch(`${previewPath(preview)}/logs?step=${step}&follow=true`, {
        headers: headers({ accept: 'text/plain' }),
        signal: controller.signal,
      });
      if (!res.ok || !res.body) throw await failure(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
        pre.append(value);
        if (pre.textContent.length > LOG_LIMIT) pre.textContent = pre.textContent.slice(-LOG_LIMIT / 2);
        if (stick) pre.scrollTop = pre.scrollHeight;
      }
      status.textContent = `The ${step} log ended.`;
    } catch (e) {
      if (controller.signal.aborted) return;
      status.textContent = `No ${step} logs: ${e.message}`;
    } finally {
      if (state.logs === controller) panel.dataset.streaming = 'false';
    }
  })();
}

function setupLogs() {
  const panel = $('logs');
  panel.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-step]');
    if (b && panel.dataset.name) {
      openLogs({ namespace: panel.dataset.namespace, name: panel.dataset.name }, b.dataset.step);
    }
  });
  $('logs-close').addEventListener('click', () => {
    state.logs?.abort();
    state.logs = undefined;
    panel.hidden = true;
  });
}

// ---------------------------------------------------------------- start

setupSignin();
setupFilters();
setupActions();
setupLogs();
setupApprovals();
// "3 min ago" stays true: only the rendered rows have times to update
setInterval(() => {
  for (const t of $('list').querySelectorAll('time[datetime]')) t.textContent = ago(t.dateTime);
}, 30_000);
// both at once: the list does not wait for the sign-in check
refreshWhoami();
connectEvents();
