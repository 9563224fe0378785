/* GHTIER_API: marks what libghtier.so exports. The library is built with hidden visibility (only what
 * carries this mark is visible to the dynamic linker) and a version script (cmake/ghtier.map) that keeps
 * the export list to ghtier_* and the ghtier:: namespace. Plain C, so the C headers can use it too.
 * A static build exports nothing dynamically; the mark is then harmless. */
#ifndef GHTIER_EXPORT_H
#define GHTIER_EXPORT_H

#if defined(_WIN32)
#define GHTIER_API
#elif defined(__GNUC__) || defined(__clang__)
#define GHTIER_API __attribute__((visibility("default")))
#else
#define GHTIER_API
#endif

#endif /* GHTIER_EXPORT_H */
