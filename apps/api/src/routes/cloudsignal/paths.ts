export const CLOUDSIGNAL_PREFIX = '/v2/push';
const CLOUDSIGNAL_PATH = /^\/v2\/push(\/|\?|$)/;

/** Whether a request is for CloudSignal's API (its answers, errors included, are in CloudSignal's shape). */
export const isCloudSignalPath = (url: string): boolean => CLOUDSIGNAL_PATH.test(url);
