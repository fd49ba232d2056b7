// The page's start: who is logged in (GET /v1/session), then the pages.
import {del, get, setCsrf, setLoggedOutHandler} from './api.js';
import {h} from './dom.js';
import {close as closeEvents} from './events.js';
import {router} from './router.js';
import {session} from './session.js';
import {dashboardPage} from './pages/dashboard.js';
import {eventsPage} from './pages/events.js';
import {guestPage} from './pages/guest.js';
import {guestsPage} from './pages/guests.js';
import {loginPage} from './pages/login.js';
import {networksPage} from './pages/networks.js';
import {newGuestPage} from './pages/new_guest.js';
import {storagePage} from './pages/storage.js';
import {templatesPage} from './pages/templates.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let app = null;

function loggedOut(message) {
  if (app) app.stop();
  app = null;
  closeEvents();
  setCsrf(null);
  top.hidden = true;
  loginPage(main, loggedIn, message);
}

function loggedIn(s) {
  Object.assign(session, s);
  setCsrf(s.csrf_token);
  top.hidden = false;
  const who = document.getElementById('who');
  who.replaceChildren(h('span', {}, s.user), ' ',
    h('span', {class: 'muted', id: 'access'}, s.write_access ? '(full access)' : '(read-only)'));
  document.body.classList.toggle('read-only', !s.write_access);
  app = router(main, [
    [/^#\/dashboard$/, dashboardPage],
    [/^#\/guests\/(.+)$/, guestPage],
    [/^#\/guests$/, guestsPage],
    [/^#\/new-guest(?:\/(.+))?$/, newGuestPage],
    [/^#\/templates$/, templatesPage],
    [/^#\/storage$/, storagePage],
    [/^#\/networks$/, networksPage],
    [/^#\/events$/, eventsPage],
  ], '#/guests');
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await del('/v1/session'); } catch { /* gone already */ }
  loggedOut('Logged out.');
});

// A browser keeps a page it navigates away from alive for a while (the
// back/forward cache), and its open connections with it; Chromium allows 6
// HTTP/1.1 connections per host, so 6 such pages holding their event streams
// stalled the next load for about a minute, until the cache let them go. A page
// put away lets go of its streams (the view's and the shared one) and, when it
// is shown again, draws its view anew (what happened meanwhile included).
window.addEventListener('pagehide', () => {
  if (app) app.pause();
  closeEvents();
});
window.addEventListener('pageshow', (e) => { if (e.persisted && app) app.reload(); });

setLoggedOutHandler(() => loggedOut('Your session has ended; log in again.'));

get('/v1/session').then((s) => (s.logged_in ? loggedIn(s) : loggedOut('')), (e) => loggedOut(e.message));
