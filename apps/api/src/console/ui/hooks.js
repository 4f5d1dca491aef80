import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

/**
 * Loads with `load()` and again every `everyMs(data)` milliseconds while the page shows it (null:
 * no more polling). Polling rather than a stream: it needs nothing but the public API, and a page
 * asks for a few small documents at most once a second.
 */
export function usePolled(load, deps, everyMs = () => null) {
  const [state, setState] = useState({ data: undefined, error: null });
  const everyRef = useRef(everyMs);
  everyRef.current = everyMs;
  const reloadRef = useRef(() => {});
  useEffect(() => {
    let stopped = false;
    let timer;
    const controller = new AbortController();
    const run = async () => {
      clearTimeout(timer);
      try {
        const data = await load(controller.signal);
        if (stopped) return;
        setState({ data, error: null });
        const next = everyRef.current(data);
        if (next !== null) timer = setTimeout(run, next);
      } catch (error) {
        if (stopped || error.name === 'AbortError') return;
        setState((s) => ({ data: s.data, error }));
        timer = setTimeout(run, 5000); // the server may be restarting: try again, calmly
      }
    };
    reloadRef.current = run;
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller.abort();
    };
  }, deps);
  const reload = useCallback(() => reloadRef.current(), []);
  return { ...state, reload };
}

/** GET a path of the API once per change of `path`. */
export const useGet = (path, everyMs) => usePolled((signal) => api('GET', path, { signal }), [path], everyMs);
