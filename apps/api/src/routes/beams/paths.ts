const BEAMS_PATH = /^\/(publish_api|device_api|customer_api|user_api|reporting_api)(\/|\?|$)/;

/** Whether a request is for one of Beams' APIs (its answers, errors included, are in Beams' shape). */
export const isBeamsPath = (url: string): boolean => BEAMS_PATH.test(url);
