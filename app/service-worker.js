// The operator app's service worker (the build fills in VERSION and SHELL). The shell — page,
// scripts, styles, icons — is precached, so the app opens with no connection; navigations try the
// network first and fall back to the cached page. API calls are never cached: answers about tasks
// and money must be live, and photos wait in IndexedDB instead.
const VERSION = __VERSION__;
const SHELL = __SHELL__;
const CACHE = `humanops-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('humanops-shell-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.includes('/api/')) return;
  // The owner's console beside the app is not the operator's: offline it must not open as the operator shell.
  if (url.href.startsWith(new URL('./console/', self.registration.scope).href)) return;
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(() => caches.match('./').then((page) => page ?? Response.error())));
    return;
  }
  event.respondWith(caches.match(request).then((cached) => cached ?? fetch(request)));
});

// Push alerts: the payload is a title, a short body and a link into the app (never a secret).
self.addEventListener('push', (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch {
    // Not ours to read: show nothing of it.
  }
  const url = typeof alert.url === 'string' && alert.url.startsWith('/#/') ? alert.url : '/';
  event.waitUntil(self.registration.showNotification(typeof alert.title === 'string' ? alert.title : 'HumanOps', {
    body: typeof alert.body === 'string' ? alert.body : '',
    icon: 'icon-192.png',
    tag: typeof alert.task_id === 'string' ? alert.task_id : undefined,
    data: { url },
  }));
});

// A tap opens the task in the app: an open window if there is one, else a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(`.${event.notification.data?.url?.slice(1) ?? '/'}`, self.registration.scope).href;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
    const open = windows.find((client) => client.url.startsWith(self.registration.scope));
    return open ? open.navigate(target).then((client) => client?.focus()) : self.clients.openWindow(target);
  }));
});
