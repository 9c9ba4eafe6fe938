// Paths of the admin port that other components name: the operator puts the
// drain path in the serving pod's preStop hook. Kept apart so the operator
// does not load the server's code to know them.

/** The pod's preStop hook: Connection: close on every answer from now on, and hold the hook ?seconds=N. */
export const DRAIN_PATH = '/drain';
