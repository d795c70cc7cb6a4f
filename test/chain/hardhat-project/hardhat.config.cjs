// The `hardhat node` the chain tests start as a separate process (test/chain/helpers.ts): defaults, chain id 31337.
module.exports = { networks: { hardhat: { chainId: 31337, loggingEnabled: false } } }
