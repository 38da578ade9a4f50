/** The training graphs the GPU checks place, time and compare (resnet32 at batch 128, as in the paper's protocol). */
import { crossEntropy } from '../../src/nn/functional.js';
import { cosineHead } from '../../src/nn/heads.js';
import { buildBackbone, getModelSpec } from '../../src/nn/models.js';
import { buildTrainingGraph, type TrainingGraph } from '../../src/train/training-graph.js';

/** resnet32 + 100-class cosine head, batch statistics BN, SGD: one paper-protocol training step. */
export function resnet32TrainingGraph(batchSize = 128): TrainingGraph {
  return buildTrainingGraph({
    name: 'resnet32-train',
    batchSize,
    inputShape: [3, 32, 32],
    bnMode: 'train',
    device: 'cuda',
    optimizer: { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    forward: ({ params, x, y }) => {
      const { features } = buildBackbone(getModelSpec('resnet32'), params, x);
      params.group = 'classifier';
      const logits = cosineHead(params, 'fc', features, 100);
      return { loss: crossEntropy(logits, y), logits };
    },
  });
}

/** Named graphs to check on the device. */
export function trainingGraphsForDevice(): { name: string; bytes: Uint8Array }[] {
  return [{ name: 'resnet32-train-b128', bytes: resnet32TrainingGraph().bytes }];
}
