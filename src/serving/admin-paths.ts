// Paths of the admin port that other components name: the operator puts the
// drain path in the serving pod's preStop hook and reads the prediction log's
// state; the drift check reads the samples. Kept apart so neither loads the
// server's code to know them.

/** The pod's preStop hook: Connection: close on every answer from now on, and hold the hook ?seconds=N. */
export const DRAIN_PATH = '/drain';

/** The captured samples of a model (bearer token required), as JSON Lines; ?limit=N keeps the newest N. */
export const samplesPath = (model: string): string => `/v2/models/${encodeURIComponent(model)}/samples`;

/** The prediction log's state in the pod (counts and times, no token): see PredictionLogStatus. */
export const predictionLogPath = (model: string): string => `/v2/models/${encodeURIComponent(model)}/prediction-log`;

/**
 * How recent a loss must be for the prediction log's `losing`: long enough to
 * span a few flush intervals of a quiet pod. The operator's condition names it.
 */
export const LOSS_WINDOW_MS = 5 * 60_000;
