/*
 * Pushcast service worker. Use it as the site's service worker, or bring it into the site's own:
 *
 *   importScripts('https://push.example.com/sdk/pushcast-sw.js');
 *
 * It shows Pushcast's notifications (title, body, icon, badge, image, actions, require_interaction,
 * silent), opens `target_url` (or the clicked action's) on a click, and reports the open to
 * Pushcast with the message's open token. It learns where Pushcast is from the SDK (Pushcast.init
 * stores it in this origin's IndexedDB), or from `self.pushcastConfig = { apiUrl }` set before
 * importScripts. Messages that are not Pushcast's (no numeric `id` and string `body`) and clicks on
 * notifications it did not show are left to the site's own handlers.
 *
 * `self.Pushcast` exposes the handlers for a site's own listeners: showNotification(payload),
 * handleClick(notification, action), reportOpen(payload, action).
 */
(function () {
  'use strict';

  var CONFIG_DB = 'pushcast';
  var CONFIG_STORE = 'config';
  var CONFIG_KEY = 'config';
  var SW_PATH = /\/sdk\/pushcast-sw\.js$/;

  function loadConfig() {
    return new Promise(function (resolve) {
      var open;
      try {
        open = indexedDB.open(CONFIG_DB, 1);
      } catch (error) {
        return resolve({});
      }
      open.onupgradeneeded = function () {
        open.result.createObjectStore(CONFIG_STORE);
      };
      open.onerror = function () {
        resolve({});
      };
      open.onsuccess = function () {
        var db = open.result;
        try {
          var read = db.transaction(CONFIG_STORE, 'readonly').objectStore(CONFIG_STORE).get(CONFIG_KEY);
          read.onsuccess = function () {
            db.close();
            resolve(read.result || {});
          };
          read.onerror = function () {
            db.close();
            resolve({});
          };
        } catch (error) {
          db.close();
          resolve({});
        }
      };
    });
  }

  /** Where Pushcast's API is: set by the site, stored by the SDK, or this script's own server. */
  async function apiUrl() {
    var set = self.pushcastConfig && self.pushcastConfig.apiUrl;
    if (set) return String(set).replace(/\/+$/, '');
    var stored = await loadConfig();
    if (stored.apiUrl) return stored.apiUrl;
    if (SW_PATH.test(self.location.pathname)) return self.location.origin + self.location.pathname.replace(SW_PATH, '');
    return null;
  }

  function isPushcastPayload(data) {
    return data !== null && typeof data === 'object' && typeof data.id === 'number' && typeof data.body === 'string';
  }

  /** The key an action is known by (what the Notifications API needs, and what opens are counted under). */
  function actionKey(action) {
    return action.action || action.title;
  }

  function showNotification(data) {
    var options = {
      body: data.body,
      tag: 'pushcast-' + data.id,
      requireInteraction: data.require_interaction === true,
      silent: data.silent === true,
      actions: (data.actions || []).map(function (a) {
        var action = { action: actionKey(a), title: a.title };
        if (a.icon) action.icon = a.icon;
        return action;
      }),
      data: {
        pushcast: {
          id: data.id,
          target_url: data.target_url || null,
          actions: data.actions || [],
          custom_data: data.custom_data === undefined ? null : data.custom_data,
          open_token: data.open_token || null,
        },
      },
    };
    if (data.icon) options.icon = data.icon;
    if (data.badge) options.badge = data.badge;
    if (data.image) options.image = data.image;
    return self.registration.showNotification(data.title || '', options);
  }

  /**
   * Opens the URL in a new window. A browser allows that only during a click made by the user; a
   * click dispatched otherwise (DevTools, tests) navigates a window of the site this worker controls.
   */
  function openUrl(url) {
    return self.clients.openWindow(url).catch(function (error) {
      return self.clients.matchAll({ type: 'window' }).then(function (windows) {
        if (windows.length === 0) throw error;
        return windows[0].navigate(url);
      });
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /**
   * Tells Pushcast the notification was opened (through `action`, or null for the notification
   * itself). `text/plain` keeps it a simple CORS request: no preflight. Retried twice on a network
   * error or a 5xx/429; resolves to Pushcast's answer ({counted}) or null.
   */
  async function reportOpen(data, action) {
    if (!data || !data.open_token) return null;
    var base = await apiUrl();
    if (!base) return null;
    var body = JSON.stringify({ token: data.open_token, action: action || null });
    for (var attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) await sleep(1000 * attempt);
      try {
        var response = await fetch(base + '/api/v1/notifications/' + data.id + '/open', {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          body: body,
          credentials: 'omit',
          mode: 'cors',
          keepalive: true,
        });
        if (response.ok) return response.json();
        if (response.status !== 429 && response.status < 500) return null;
      } catch (error) {
        // offline or unreachable: try again
      }
    }
    return null;
  }

  /** A click on one of Pushcast's notifications: open its target (or the action's), report the open. */
  function handleClick(notification, action) {
    var data = notification.data && notification.data.pushcast;
    if (!data) return Promise.resolve(null);
    notification.close();
    var clicked = null;
    (data.actions || []).forEach(function (a) {
      if (action && actionKey(a) === action) clicked = a;
    });
    var url = (clicked && clicked.target_url) || data.target_url;
    // Opened first, while the click still allows it.
    var opened = url ? openUrl(url).catch(function () { return null; }) : Promise.resolve(null);
    var reported = reportOpen(data, clicked ? action : null);
    return Promise.all([opened, reported]).then(function (results) {
      return results[1];
    });
  }

  /** waitUntil throws for events a script constructed; their work simply is not awaited. */
  function extend(event, promise) {
    try {
      event.waitUntil(promise);
    } catch (error) {
      // a script-dispatched event: nothing to extend
    }
  }

  async function renewSubscription(event) {
    var config = await loadConfig();
    var base = await apiUrl();
    if (!base || !config.projectId) return;
    var url = base + '/api/v1/projects/' + config.projectId;
    var subscription = event.newSubscription;
    if (!subscription) {
      var key = await (await fetch(url + '/vapid_public_key')).json();
      var raw = atob(key.vapid_public_key.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (key.vapid_public_key.length % 4)) % 4));
      var bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes });
    }
    var body = subscription.toJSON();
    if (config.tags) body.tags = config.tags;
    if (config.uid && config.uidSignature) {
      body.uid = config.uid;
      body.uid_signature = config.uidSignature;
    }
    if (config.userEmail && config.userEmailSignature) {
      body.user_email = config.userEmail;
      body.user_email_signature = config.userEmailSignature;
    }
    await fetch(url + '/web_subscriptions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (event.oldSubscription) {
      var old = event.oldSubscription.toJSON();
      await fetch(url + '/web_subscriptions', {
        method: 'DELETE',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ endpoint: old.endpoint, keys: { auth: old.keys.auth } }),
      });
    }
  }

  self.addEventListener('push', function (event) {
    var data = null;
    try {
      data = event.data ? event.data.json() : null;
    } catch (error) {
      data = null;
    }
    if (!isPushcastPayload(data)) return;
    extend(event, showNotification(data));
  });

  self.addEventListener('notificationclick', function (event) {
    if (!(event.notification.data && event.notification.data.pushcast)) return;
    extend(event, handleClick(event.notification, event.action));
  });

  // The browser renewed the subscription (rare; Firefox does): tell Pushcast, with the same uid and tags.
  self.addEventListener('pushsubscriptionchange', function (event) {
    extend(event, renewSubscription(event).catch(function () {}));
  });

  self.Pushcast = { showNotification: showNotification, handleClick: handleClick, reportOpen: reportOpen };
})();
