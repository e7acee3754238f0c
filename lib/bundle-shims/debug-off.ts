// Bundling shim (lib/handler-bundling.ts PACKAGE_SHIMS): stands in for `debug` inside the Lambda
// bundles only. file-type's ZIP reader (@tokenizer/inflate) and music-metadata create debug
// loggers at load; debug then inspects the TTY, the environment and its colour table at every
// cold start, for output that only a DEBUG=... variable would ever turn on. A function logs through
// Powertools; these libraries' trace lines are for running them locally, where this shim is not used.

interface DebugLogger {
  (...args: unknown[]): void;
  readonly enabled: false;
  readonly namespace: string;
  extend(suffix: string, delimiter?: string): DebugLogger;
}

function createDebug(namespace: string): DebugLogger {
  const logger = () => undefined;
  return Object.assign(logger, {
    enabled: false as const,
    namespace,
    extend: (suffix: string, delimiter = ':') => createDebug(`${namespace}${delimiter}${suffix}`),
  });
}

createDebug.enable = (_namespaces: string): void => undefined;
createDebug.disable = (): string => '';
createDebug.enabled = (_namespace: string): boolean => false;

export default createDebug;
