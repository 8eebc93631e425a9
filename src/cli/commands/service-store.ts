import { sqliteNativeBinding } from '../../ops/sea.js'
import { openStore, type Store } from '../../store/index.js'

/**
 * The service's database for `status` and `export`: read-only, so safe beside the running
 * daemon and never created where it is not (FLX_ERR_STORE_NOT_FOUND); no integrity pass,
 * which would read a large file on a slow card for a look at it.
 */
export function openServiceStore(file: string): Store {
  return openStore({
    file,
    readonly: true,
    integrityCheck: 'none',
    nativeBinding: sqliteNativeBinding(),
  })
}
