import Bowser from 'bowser';

/** CloudSignal's `device_info`, from the subscribing browser's User-Agent (null fields when unknown). */
export interface DeviceInfo {
  readonly browserName: string | null;
  /** The major version, as CloudSignal shows it ("120"). */
  readonly browserVersion: string | null;
  readonly osName: string | null;
  /** desktop, mobile, tablet or tv. */
  readonly deviceType: string | null;
}

const UNKNOWN: DeviceInfo = { browserName: null, browserVersion: null, osName: null, deviceType: null };

/** Parsed with bowser (maintained, MIT): a User-Agent it cannot read gives nulls, never an error. */
export function deviceInfoOf(userAgent: string | null): DeviceInfo {
  if (!userAgent) return UNKNOWN;
  try {
    const r = Bowser.parse(userAgent);
    return {
      // bowser answers '' for what it does not know.
      browserName: r.browser.name || null,
      browserVersion: r.browser.version?.split('.')[0] || null,
      osName: r.os.name || null,
      deviceType: r.platform.type || null,
    };
  } catch {
    return UNKNOWN;
  }
}
