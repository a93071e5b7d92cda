// Runs face-api's own AgeGenderNet and FaceExpressionNet (tfjs, pure-JS CPU
// backend) on the float32 RGB images listed in a cases file; driven by
// models/verify_faceapi_attributes.py, which compares with onnxruntime.
//   node verify_faceapi_attributes.mjs NODE_PREFIX MODEL_DIR CASES.json OUT.json
// NODE_PREFIX: a scratch folder where `npm install @tensorflow/tfjs@4.22.0
// @tensorflow/tfjs-backend-wasm@4.22.0 @vladmandic/face-api@1.7.15` was run.
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';

const [prefix, modelDir, casesFile, outFile] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const tf = require('@tensorflow/tfjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

await tf.setBackend('cpu');
await tf.ready();
await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);

const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const out = { backend: tf.getBackend(), tfjs: tf.version.tfjs, faceapi: faceapi.version, cases: {} };
for (const c of cases) {
  const buf = fs.readFileSync(c.path);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const img = tf.tensor3d(data, c.shape, 'float32');
  // forward() = toNetInput -> toBatchTensor(112, true): padToSquare + resizeBilinear.
  const ag = await faceapi.nets.ageGenderNet.forward(img);
  const ex = await faceapi.nets.faceExpressionNet.forward(img);
  out.cases[c.name] = {
    age: Array.from(ag.age.dataSync()),
    gender: Array.from(ag.gender.dataSync()),
    expression: Array.from(ex.dataSync()),
  };
  tf.dispose([img, ag.age, ag.gender, ex]);
}
fs.writeFileSync(outFile, JSON.stringify(out));
