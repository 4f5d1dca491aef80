// Pushcast browser SDK — the source shared by /sdk/pushcast.js (window.Pushcast) and
// /sdk/pushcast.mjs (ES module). Plain JavaScript, no dependencies, no build step.
//
//   Pushcast.init({ projectId, apiUrl, serviceWorkerUrl, serviceWorkerScope })
//   await Pushcast.subscribe({ uid, uidSignature, tags, userEmail, userEmailSignature })  → { id, project_id, uid, user_email, tags, created_at }
//   await Pushcast.unsubscribe()                           → true if this browser was subscribed
//   await Pushcast.status()    → { supported, permission, subscribed, id?, uid?, tags? }
//   await Pushcast.setTags(tags), await Pushcast.setUid(uid, uidSignature), await Pushcast.setUserEmail(email, emailSignature)
//
// Every failure is a Pushcast.PushcastError with a `code`: invalid_argument, not_initialized,
// unsupported_browser, permission_denied, permission_dismissed, service_worker_failed,
// subscribe_failed, not_subscribed, network_error, request_refused (then also `status`, `rule`,
// `field` and `response`: Pushcast's answer).
function createPushcast(scriptUrl) {
  var CONFIG_DB = 'pushcast';
  var CONFIG_STORE = 'config';
  var CONFIG_KEY = 'config';

  class PushcastError extends Error {
    constructor(code, message, details) {
      super(message);
      this.name = 'PushcastError';
      this.code = code;
      if (details) Object.assign(this, details);
    }
  }

  var settings = null;

  /** Where Pushcast is: the SDK's own URL without /sdk/pushcast.(m)js. */
  function defaultApiUrl() {
    if (!scriptUrl) return null;
    var url = new URL(scriptUrl);
    if (!/\/sdk\/pushcast\.m?js$/.test(url.pathname)) return null;
    return url.origin + url.pathname.replace(/\/sdk\/pushcast\.m?js$/, '');
  }

  function isSupported() {
    return (
      typeof window !== 'undefined' &&
      window.isSecureContext !== false &&
      'serviceWorker' in navigator &&
      'PushManager' in window &&
      'Notification' in window
    );
  }

  function init(options) {
    options = options || {};
    var projectId = Number(options.projectId);
    if (!Number.isSafeInteger(projectId) || projectId < 1) {
      throw new PushcastError('invalid_argument', 'Pushcast.init: projectId must be the id of a Pushcast project (a positive integer)');
    }
    var apiUrl = String(options.apiUrl || defaultApiUrl() || '').replace(/\/+$/, '').replace(/\/api\/v1$/, '');
    if (!/^https?:\/\//.test(apiUrl)) {
      throw new PushcastError('invalid_argument', 'Pushcast.init: apiUrl is required (the URL Pushcast is served at) when the SDK is not loaded from Pushcast');
    }
    settings = {
      projectId: projectId,
      apiUrl: apiUrl,
      serviceWorkerUrl: options.serviceWorkerUrl || '/service-worker.js',
      serviceWorkerScope: options.serviceWorkerScope || null,
    };
    // The service worker reports opens to Pushcast: it learns where from here (same origin, same IndexedDB).
    if (isSupported()) saveConfig({ apiUrl: apiUrl, projectId: projectId }).catch(function () {});
    return api;
  }

  function requireReady() {
    if (!settings) throw new PushcastError('not_initialized', 'call Pushcast.init({ projectId }) first');
    if (!isSupported()) {
      throw new PushcastError(
        'unsupported_browser',
        'this browser cannot receive push notifications here (it needs service workers, the Push API and Notifications, on https or localhost)',
      );
    }
  }

  // ---- Pushcast's API -------------------------------------------------------------------------

  async function request(method, path, body) {
    var response;
    try {
      response = await fetch(settings.apiUrl + '/api/v1/projects/' + settings.projectId + path, {
        method: method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        mode: 'cors',
      });
    } catch (error) {
      throw new PushcastError(
        'network_error',
        'Pushcast could not be reached at ' + settings.apiUrl + ' (offline, or this page\'s origin is not among the project\'s allowed_origins): ' + error.message,
        { cause: error },
      );
    }
    if (response.status === 204) return null;
    var json = null;
    try {
      json = await response.json();
    } catch (error) {
      json = null;
    }
    if (!response.ok) {
      throw new PushcastError('request_refused', (json && json.error) || 'Pushcast answered HTTP ' + response.status, {
        status: response.status,
        rule: json && json.rule,
        field: json && json.field,
        response: json,
      });
    }
    return json;
  }

  function base64UrlToBytes(value) {
    var base64 = value.replace(/-/g, '+').replace(/_/g, '/');
    var raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameBytes(a, b) {
    if (!a || !b) return false;
    var x = new Uint8Array(a);
    var y = new Uint8Array(b);
    if (x.length !== y.length) return false;
    for (var i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }

  async function vapidKey() {
    var answer = await request('GET', '/vapid_public_key');
    return base64UrlToBytes(answer.vapid_public_key);
  }

  /** What proves to Pushcast that this browser holds the subscription: its endpoint and auth secret. */
  function proof(subscription) {
    var json = subscription.toJSON();
    return { endpoint: json.endpoint, keys: { auth: json.keys.auth } };
  }

  // ---- The browser's side ---------------------------------------------------------------------

  async function askPermission() {
    if (Notification.permission === 'granted' || Notification.permission === 'denied') return Notification.permission;
    // Older Safari takes a callback instead of returning a promise.
    return new Promise(function (resolve) {
      var promise = Notification.requestPermission(resolve);
      if (promise && typeof promise.then === 'function') promise.then(resolve, function () { resolve('default'); });
    });
  }

  function waitActive(registration) {
    if (registration.active) return Promise.resolve(registration);
    var worker = registration.installing || registration.waiting;
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new PushcastError('service_worker_failed', 'the service worker ' + settings.serviceWorkerUrl + ' did not activate within 20 s'));
      }, 20000);
      worker.addEventListener('statechange', function () {
        if (worker.state === 'activated') {
          clearTimeout(timer);
          resolve(registration);
        } else if (worker.state === 'redundant') {
          clearTimeout(timer);
          reject(new PushcastError('service_worker_failed', 'the service worker ' + settings.serviceWorkerUrl + ' failed to install'));
        }
      });
    });
  }

  async function register() {
    var registration;
    try {
      registration = await navigator.serviceWorker.register(
        settings.serviceWorkerUrl,
        settings.serviceWorkerScope ? { scope: settings.serviceWorkerScope } : undefined,
      );
    } catch (error) {
      throw new PushcastError(
        'service_worker_failed',
        'the service worker ' + settings.serviceWorkerUrl + ' could not be registered (it must be served by this site, e.g. a file with ' +
          'importScripts(\'' + settings.apiUrl + '/sdk/pushcast-sw.js\')): ' + error.message,
        { cause: error },
      );
    }
    return waitActive(registration);
  }

  async function existingSubscription() {
    var registration = await navigator.serviceWorker.getRegistration(
      settings.serviceWorkerScope || new URL(settings.serviceWorkerUrl, location.href).href,
    );
    return registration ? registration.pushManager.getSubscription() : null;
  }

  // ---- The configuration the service worker reads (IndexedDB, shared with it) ------------------

  function openConfigDb() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(CONFIG_DB, 1);
      open.onupgradeneeded = function () {
        open.result.createObjectStore(CONFIG_STORE);
      };
      open.onsuccess = function () {
        resolve(open.result);
      };
      open.onerror = function () {
        reject(open.error);
      };
    });
  }

  async function saveConfig(patch) {
    var db = await openConfigDb();
    try {
      await new Promise(function (resolve, reject) {
        var tx = db.transaction(CONFIG_STORE, 'readwrite');
        var store = tx.objectStore(CONFIG_STORE);
        var read = store.get(CONFIG_KEY);
        read.onsuccess = function () {
          store.put(Object.assign({}, read.result || {}, patch), CONFIG_KEY);
        };
        tx.oncomplete = resolve;
        tx.onerror = function () {
          reject(tx.error);
        };
      });
    } finally {
      db.close();
    }
  }

  // ---- The API ---------------------------------------------------------------------------------

  function checkTags(tags) {
    if (tags === undefined) return;
    if (!Array.isArray(tags) || tags.some(function (t) { return typeof t !== 'string'; })) {
      throw new PushcastError('invalid_argument', 'tags must be an array of strings');
    }
  }

  function identity(options) {
    var body = {};
    if (options.uid !== undefined) body.uid = options.uid;
    if (options.uidSignature !== undefined) body.uid_signature = options.uidSignature;
    if (options.tags !== undefined) body.tags = options.tags;
    if (options.userEmail !== undefined) body.user_email = options.userEmail;
    if (options.userEmailSignature !== undefined) body.user_email_signature = options.userEmailSignature;
    return body;
  }

  /**
   * Asks for permission (call it from a click: browsers refuse prompts that no gesture started),
   * registers the service worker, subscribes with the project's VAPID key and sends the subscription
   * to Pushcast. Subscribing again updates uid and tags. A uid needs its uidSignature, made by the
   * site's server: signature_for(uid) = hex HMAC-SHA256(a project token, uid).
   */
  async function subscribe(options) {
    requireReady();
    options = options || {};
    checkTags(options.tags);
    var permission = await askPermission();
    if (permission === 'denied') {
      throw new PushcastError('permission_denied', 'notifications are blocked for this site: the visitor must allow them in the browser\'s site settings');
    }
    if (permission !== 'granted') {
      throw new PushcastError('permission_dismissed', 'the visitor closed the permission prompt without allowing notifications');
    }
    var results = await Promise.all([register(), vapidKey()]);
    var registration = results[0];
    var key = results[1];
    var subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options && subscription.options.applicationServerKey, key)) {
      // Subscribed under another key (the project's sender changed): a push service would refuse it.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      try {
        subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      } catch (error) {
        if (error && error.name === 'NotAllowedError') {
          throw new PushcastError('permission_denied', 'the browser refused the push subscription: ' + error.message, { cause: error });
        }
        throw new PushcastError('subscribe_failed', 'the browser could not subscribe to push messages: ' + (error && error.message), { cause: error });
      }
    }
    var answer = await request('POST', '/web_subscriptions', Object.assign(subscription.toJSON(), identity(options)));
    // Kept for the service worker, which subscribes again with them if the browser renews the subscription.
    var kept = { apiUrl: settings.apiUrl, projectId: settings.projectId, uid: answer.uid, tags: answer.tags };
    if (options.uid !== undefined) kept.uidSignature = options.uid === null ? null : options.uidSignature;
    if (options.userEmail !== undefined) {
      kept.userEmail = options.userEmail;
      kept.userEmailSignature = options.userEmail === null ? null : options.userEmailSignature;
    }
    await saveConfig(kept).catch(function () {});
    return answer;
  }

  /** Removes the subscription from Pushcast, then from the browser. Resolves false if there was none. */
  async function unsubscribe() {
    requireReady();
    var subscription = await existingSubscription();
    if (!subscription) return false;
    await request('DELETE', '/web_subscriptions', proof(subscription));
    await subscription.unsubscribe();
    return true;
  }

  async function status() {
    if (!settings) throw new PushcastError('not_initialized', 'call Pushcast.init({ projectId }) first');
    if (!isSupported()) return { supported: false, permission: 'unsupported', subscribed: false };
    var permission = Notification.permission;
    var subscription = await existingSubscription();
    if (!subscription) return { supported: true, permission: permission, subscribed: false };
    var answer = await request('POST', '/web_subscriptions/status', proof(subscription));
    return Object.assign({ supported: true, permission: permission }, answer);
  }

  async function update(body) {
    requireReady();
    var subscription = await existingSubscription();
    if (!subscription) throw new PushcastError('not_subscribed', 'this browser is not subscribed: call Pushcast.subscribe() first');
    try {
      return await request('PATCH', '/web_subscriptions', Object.assign(proof(subscription), body));
    } catch (error) {
      if (error.code === 'request_refused' && error.status === 404) {
        throw new PushcastError('not_subscribed', 'Pushcast has no subscription for this browser: call Pushcast.subscribe() again', { cause: error });
      }
      throw error;
    }
  }

  /** Replaces the tags this browser set (only tags the project's browser_tags_allowed lists). */
  async function setTags(tags) {
    checkTags(tags);
    var answer = await update({ tags: tags });
    await saveConfig({ tags: answer.tags }).catch(function () {});
    return answer;
  }

  /** Sets the uid (with its signature from the site's server), or clears it with null. */
  async function setUid(uid, uidSignature) {
    var answer = await update(uid === null ? { uid: null } : { uid: uid, uid_signature: uidSignature });
    await saveConfig({ uid: answer.uid, uidSignature: uid === null ? null : uidSignature }).catch(function () {});
    return answer;
  }

  /**
   * Sets the user email this browser's subscription belongs to (with its signature from the site's
   * server: signature_for(email), as for a uid), or clears it with null.
   */
  async function setUserEmail(email, emailSignature) {
    var answer = await update(email === null ? { user_email: null } : { user_email: email, user_email_signature: emailSignature });
    await saveConfig({ userEmail: answer.user_email, userEmailSignature: email === null ? null : emailSignature }).catch(function () {});
    return answer;
  }

  var api = {
    init: init,
    setUserEmail: setUserEmail,
    subscribe: subscribe,
    unsubscribe: unsubscribe,
    status: status,
    setTags: setTags,
    setUid: setUid,
    isSupported: isSupported,
    PushcastError: PushcastError,
  };
  return api;
}
