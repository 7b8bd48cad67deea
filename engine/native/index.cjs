// The compiled addon (node-gyp builds it when npm installs this package). N-API: one build serves Node
// and Electron alike.
module.exports = require('./build/Release/mengzi_native.node')
