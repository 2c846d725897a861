// The owner's console's service worker, scoped to /console/: approval alerts only. It caches
// nothing (the console is for when one is online) and keeps its push subscription apart from the
// operator app's, so one person can take both kinds of alerts on one device.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

// The payload is a title, a short body and a link into the console (never a secret).
self.addEventListener('push', (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch {
    // Not ours to read: show nothing of it.
  }
  const url = typeof alert.url === 'string' && alert.url.startsWith('/console/#/') ? alert.url : '/console/';
  event.waitUntil(self.registration.showNotification(typeof alert.title === 'string' ? alert.title : 'HumanOps', {
    body: typeof alert.body === 'string' ? alert.body : '',
    icon: '../icon-192.png',
    tag: typeof alert.task_id === 'string' ? alert.task_id : undefined,
    requireInteraction: true,
    data: { url },
  }));
});

// A tap opens the approvals: an open console if there is one, else a new window.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url ?? '/console/', self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
    const open = windows.find((client) => client.url.startsWith(self.registration.scope));
    return open ? open.navigate(target).then((client) => client?.focus()) : self.clients.openWindow(target);
  }));
});
