/**
 * When this build was made, ISO 8601: the earliest the system clock can be on a gateway
 * running it (a Pi without an RTC boots at 1970 or at its last shutdown). `npm run build`
 * overwrites the compiled copy, build/build-date.js, with the build time
 * (scripts/stamp-build-date.mjs; SOURCE_DATE_EPOCH when set, for reproducible builds),
 * and scripts/package.sh bundles that copy into the single executable. This value is what
 * code run straight from src/ (the in-process tests) sees: the date of the last change
 * to this line, so it is never ahead of a correct clock.
 */
export const BUILD_DATE = '2026-12-02T00:00:00.000Z'
