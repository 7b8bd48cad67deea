const n = require('./engine/native/index.cjs')
n.blasLoad('libopenblas.so.0')
const r=(len)=>new Float32Array(len).map(()=>Math.random()-0.5)
function bench(name, ta, tb, m, N, k) {
  const a=r(m*k), b=r(k*N), c=new Float32Array(m*N)
  const lda = ta? m:k, ldb = tb? k:N
  for (const th of [1,2]) { n.blasThreads(th); n.sgemm(ta,tb,m,N,k,1,a,0,lda,0,b,0,ldb,0,0,c,0,N,0,1); let t=performance.now(); const R=5; for(let i=0;i<R;i++) n.sgemm(ta,tb,m,N,k,1,a,0,lda,0,b,0,ldb,0,0,c,0,N,0,1); const dt=(performance.now()-t)/R; console.log(name, th, dt.toFixed(2),'ms', (2*m*k*N/dt/1e6).toFixed(1),'GF/s') }
}
bench('logits  A·Bt', false, true, 304, 21128, 128)
bench('dW  At·B', true, false, 21128, 128, 304)
bench('dX  A·B', false, false, 304, 128, 21128)
bench('qkv', false, true, 2048, 128, 128)
