// The prediction log's S3 settings in a pod's environment. The operator hands
// them over under PREDICTION_LOG_CREDENTIALS_PREFIX (an envFrom prefix), so
// they never replace the pod's own AWS_* variables: the artifact's in a
// serving pod, the reference data set's in a drift-check pod, the output's in
// a data set step. Read by `fluxora serve` (writing the log), `fluxora
// drift-check` and `fluxora dataset-build` (reading it); a module of its own
// so neither reader loads the inference server.
import { s3OptionsFromPrefixedEnv, type S3Options } from '../storage/index.js';
import { PREDICTION_LOG_CREDENTIALS_PREFIX } from './config.js';

/**
 * S3 settings of the prediction log: the prefixed variables, as explicit
 * options (a setting they leave out falls back to the pod's own AWS_*
 * variables, as every S3 option does); undefined when there are none.
 */
export function predictionLogS3Options(env: NodeJS.ProcessEnv = process.env): S3Options | undefined {
  return s3OptionsFromPrefixedEnv(PREDICTION_LOG_CREDENTIALS_PREFIX, env);
}
