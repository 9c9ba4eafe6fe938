// The project runs on Node 24 LTS (hack/lib/node.sh installs it; the image
// carries it). On Node 20 the AWS SDK prints a NodeVersionSupportWarning to
// stderr of every process that builds an S3 client, which is every serving,
// training and drift-check pod reading s3://. This checks the runtime the tests
// run on and that the subcommands which load the SDK print no warning at all.
import { beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../corpus/artifacts/harness.js';
import { runFluxora } from '../support/captured-process.js';

// Any line Node prints through process.emitWarning starts "(node:<pid>)".
const WARNING = /\(node:\d+\)|Warning:/;

describe('Node runtime', () => {
  it('is Node 24 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  describe('subcommands that build an S3 client print no warning', () => {
    let port: number;
    const s3Env = () => ({
      AWS_ACCESS_KEY_ID: 'fluxora',
      AWS_SECRET_ACCESS_KEY: 'fluxora-secret',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    });
    beforeAll(async () => {
      port = await closedPort();
    });

    it('fluxora train', async () => {
      const r = await runFluxora(
        [
          'train',
          '--dataset=s3://data/train.csv',
          '--output=s3://models/churn/',
          '--config={"algorithm":"linear","target":"spend"}',
          '--features=[{"name":"tenure","type":"numeric"}]',
          '--model-name=churn',
        ],
        s3Env(),
      );
      // The store is unreachable: the SDK was loaded and used, and gave up.
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/s3:\/\/data\/train\.csv/);
      expect(r.stderr).not.toMatch(WARNING);
    });

    it('fluxora serve', async () => {
      const r = await runFluxora(['serve', '--port=0', '--admin-port=0', '--grpc-port=0'], {
        ...s3Env(),
        FLUXORA_MODEL_NAME: 'churn',
        FLUXORA_MODEL_URI: 's3://models/churn/v1/model.onnx',
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(/s3:\/\/models\/churn\/v1\/model\.onnx/);
      expect(r.stderr).not.toMatch(WARNING);
    });
  });
});
