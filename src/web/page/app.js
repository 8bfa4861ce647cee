// lanchat's page for browsers. Plain JavaScript, no build step, nothing from the network
// but this server: join with a name, then one event stream (server-sent events with a
// cursor) carries the whole conversation; a reload replays it from the start.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const state = {
    host: '',
    me: null,
    maxUpload: 0,
    cursor: 0,
    source: null,
    mine: new Map(),      // the page's message id -> its row
    uploads: new Map(),   // upload id -> its status element
    files: new Map(),     // offered file id -> its row
    seenTimer: 0,
  };

  function status(text) { $('status').textContent = text || ''; }

  function randomId() {
    // crypto.randomUUID needs a secure context; a LAN page over HTTP is not one.
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function size(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }

  function clock(ms) {
    if (!ms) return '';
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function setHost(name) {
    state.host = name;
    $('title').textContent = name ? 'Chat with ' + name : 'lanchat';
    document.title = name ? name + ' · lanchat' : 'lanchat';
  }

  function linkGone() {
    if (state.source) state.source.close();
    $('join').hidden = true;
    $('chat').hidden = true;
    setHost('');
    $('who').textContent = '';
    status('This link no longer works. Ask for a new one.');
  }

  async function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  }

  // ---- joining -------------------------------------------------------------------

  function showJoin(note) {
    if (state.source) { state.source.close(); state.source = null; }
    state.me = null;
    $('chat').hidden = true;
    $('join').hidden = false;
    $('who').textContent = '';
    const saved = localStorage.getItem('lanchat-name');
    if (saved && !$('name').value) $('name').value = saved;
    if (state.host) {
      $('intro').textContent = 'Type your name to chat with ' + state.host +
        '. Files you send wait until they accept them.';
    }
    status(note || '');
    $('name').focus();
  }

  function enter(visitor) {
    state.me = visitor;
    try { localStorage.setItem('lanchat-name', visitor.name); } catch (_) { /* private mode */ }
    $('join').hidden = true;
    $('chat').hidden = false;
    $('who').textContent = 'You are ' + visitor.name;
    status('');
    connect();
    $('message').focus();
  }

  async function join(name) {
    const r = await post('api/join', { name }).catch(() => null);
    if (!r) return status('The host cannot be reached.');
    if (r.status === 403) return linkGone();
    if (!r.ok) return status(r.status === 429 || r.status === 503 ? 'Busy, try again in a moment.' : 'Could not join.');
    enter(await r.json());
  }

  // A visitor who left (a closed tab, a phone asleep) comes back as themselves: the host
  // shows their conversation again.
  function comeBack(returning) {
    $('log').textContent = '';
    state.cursor = 0;
    state.mine.clear();
    state.uploads.clear();
    state.files.clear();
    status('Welcome back…');
    join(returning.name);
  }

  $('join-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('name').value.trim();
    if (!name) return;
    join(name);
  });

  // ---- the event stream ----------------------------------------------------------

  function connect() {
    if (state.source) state.source.close();
    // Everything after the cursor; EventSource sends Last-Event-ID itself on reconnects.
    const source = new EventSource('api/events?after=' + state.cursor);
    state.source = source;
    source.onmessage = (e) => {
      const seq = Number(e.lastEventId) || 0;
      if (seq && seq <= state.cursor) return;
      if (seq) state.cursor = seq;
      show(JSON.parse(e.data));
    };
    source.onopen = () => status('');
    source.onerror = async () => {
      if (source.readyState !== EventSource.CLOSED) { status('Reconnecting…'); return; }
      // Refused: find out why (link revoked, session over, or the host is away).
      const r = await fetch('api/info', { credentials: 'same-origin' }).catch(() => null);
      if (state.source !== source) return;
      if (r && r.status === 403) return linkGone();
      const info = r && r.ok ? await r.json() : null;
      if (info && !info.visitor && info.returning) return comeBack(info.returning);
      if (info && !info.visitor) return showJoin('Your visit ended. Join again to go on.');
      status('The host cannot be reached. Retrying…');
      setTimeout(() => { if (state.source === source) connect(); }, 3000);
    };
  }

  function row(from) {
    const li = el('li', 'msg ' + (from === 'me' ? 'me' : 'host'));
    const log = $('log');
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.appendChild(li);
    if (atBottom || from === 'me') requestAnimationFrame(() => { log.scrollTop = log.scrollHeight; });
    return li;
  }

  function meta(li, text) {
    const m = el('div', 'meta', text);
    li.appendChild(m);
    return m;
  }

  function show(ev) {
    switch (ev.kind) {
      case 'message': {
        const li = row(ev.from);
        li.appendChild(el('div', 'text', ev.text));
        const who = ev.from === 'me' ? '' : state.host + ' · ';
        const m = meta(li, who + clock(ev.time_ms));
        if (ev.from === 'me') {
          m.appendChild(el('span', 'mark', ' · sent'));
          state.mine.set(ev.id, m.lastChild);
        } else {
          seenSoon();
        }
        break;
      }
      case 'delivered': {
        const mark = state.mine.get(ev.id);
        if (mark) mark.textContent = ' · delivered ✓';
        break;
      }
      case 'file': {
        const li = row('host');
        const url = 'file/' + encodeURIComponent(ev.id);
        if (ev.picture) {
          const img = el('img');
          img.src = url;
          img.alt = ev.name;
          img.loading = 'lazy';
          li.appendChild(img);
        }
        const a = el('a', '', ev.name);
        a.href = url;
        a.download = ev.name;
        li.appendChild(a);
        const m = meta(li, state.host + ' · ' + size(ev.size));
        state.files.set(ev.id, { li, a, m });
        break;
      }
      case 'upload': {
        const li = row('me');
        li.appendChild(el('div', 'text', ev.name));
        const m = meta(li, size(ev.size) + ' · ');
        const s = el('span', 'mark', 'waiting for ' + (state.host || 'the host') + ' to accept…');
        m.appendChild(s);
        state.uploads.set(ev.id, s);
        break;
      }
      case 'transfer': {
        const s = state.uploads.get(ev.id);
        const words = { accepted: 'accepted ✓', declined: 'declined', done: 'done ✓', failed: 'failed', waiting: 'waiting…', cancelled: 'cancelled' };
        if (s) s.textContent = words[ev.state] || ev.state;
        const f = state.files.get(ev.id);
        if (f && ev.state === 'cancelled') {
          f.a.removeAttribute('href');
          const img = f.li.querySelector('img');
          if (img) img.remove();
          f.m.appendChild(el('span', 'mark', ' · withdrawn'));
        }
        break;
      }
      case 'host':
        setHost(ev.name);
        break;
      default:
        break; // a newer server: ignore what this page does not know
    }
  }

  // Tell the host which of its messages this page has shown (they become "delivered").
  function seenSoon() {
    clearTimeout(state.seenTimer);
    state.seenTimer = setTimeout(() => {
      post('api/seen', { upto: state.cursor }).catch(() => {});
    }, 200);
  }

  // ---- sending -------------------------------------------------------------------

  async function say(text, id, tries) {
    const r = await post('api/say', { id, text }).catch(() => null);
    if (r && (r.ok)) return true;
    if (r && r.status === 401) { showJoin('Your visit ended. Join again to go on.'); return false; }
    if (r && r.status === 403) { linkGone(); return false; }
    if (tries > 0 && (!r || r.status === 429 || r.status === 503)) {
      await new Promise((ok) => setTimeout(ok, 1000));
      return say(text, id, tries - 1);
    }
    status(r && r.status === 413 ? 'That message is too long.' : 'The message could not be sent.');
    return false;
  }

  $('composer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const box = $('message');
    const text = box.value;
    if (!text.trim()) return;
    box.value = '';
    if (!(await say(text, randomId(), 5))) box.value = text;
    box.focus();
  });

  $('message').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('composer').requestSubmit();
    }
  });

  function upload(file) {
    if (state.maxUpload && file.size > state.maxUpload) {
      status(file.name + ' is larger than ' + size(state.maxUpload) + '.');
      return;
    }
    const line = el('div');
    line.appendChild(el('span', '', file.name));
    const bar = el('progress');
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute('aria-label', 'Sending ' + file.name);
    line.appendChild(bar);
    $('progress').appendChild(line);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', 'api/upload?name=' + encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => { bar.value = e.loaded; };
    xhr.onload = () => {
      line.remove();
      if (xhr.status === 202) return;
      const why = { 401: 'join again first', 413: 'too large', 429: 'too many files waiting', 507: 'no room on the host' };
      status(file.name + ' was not sent: ' + (why[xhr.status] || 'error ' + xhr.status) + '.');
    };
    xhr.onerror = () => { line.remove(); status(file.name + ' was not sent: the connection broke.'); };
    xhr.send(file);
  }

  document.querySelector('label[for="file"]').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      $('file').click();
    }
  });

  $('file').addEventListener('change', (ev) => {
    for (const file of ev.target.files) upload(file);
    ev.target.value = '';
  });

  // A closed tab leaves at once; a reload comes back within seconds and stays.
  window.addEventListener('pagehide', () => {
    if (state.me) navigator.sendBeacon('api/leave');
  });

  // ---- start ---------------------------------------------------------------------

  (async () => {
    const r = await fetch('api/info', { credentials: 'same-origin' }).catch(() => null);
    if (!r) return status('The host cannot be reached.');
    if (r.status === 403) return linkGone();
    const info = await r.json();
    setHost(info.host);
    state.maxUpload = info.max_upload;
    if (info.visitor) enter(info.visitor);
    else if (info.returning) comeBack(info.returning);
    else showJoin();
  })();
})();
