export {
  type CheckResult,
  type Config,
  type ConfigWarning,
  checkConfig,
  isLoopbackHost,
  type LoadConfigOptions,
  loadConfig,
} from './load.js'
export { type ConfigProblem, formatConfigErrors } from './problems.js'
export { builtinProfilesDir, type LoadedProfiles, loadProfiles } from './profiles.js'
