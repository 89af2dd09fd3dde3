// What this provider really implements for container jobs, in one place: retrieveProducts
// advertises exactly these flags, and the calls behind a false flag answer with an error
// (interactiveSession for web/vnc/terminal, retrieveUtilization for utilization). Flip a flag
// only together with the code that serves it: UCloud shows users what is claimed here.
export const SUPPORTED_FEATURES = {
  web: false,
  vnc: false,
  logs: false,
  terminal: false,
  peers: true,
  timeExtension: true,
  utilization: false,
} as const;
