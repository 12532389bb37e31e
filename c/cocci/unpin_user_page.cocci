// SPDX-License-Identifier: GPL-2.0-only
/// The put_user_pages() series' conversion, written the natural way: a
/// put_page() or release_pages() of the pages that get_user_pages*() or
/// pin_user_pages*() filled becomes unpin_user_page() / unpin_user_pages().
/// "Filled" is textual: the array or &page the call was given, matched
/// anywhere in the file; a page reached any other way is not converted.
//
// Confidence: Low
// Options: --no-includes
// Usage: make coccicheck COCCI=<this file> MODE=patch M=<dir>

virtual patch

@gup_array depends on patch@
expression E1, E2, E3, E4, E5, P;
@@
(
get_user_pages(E1, E2, E3, P)
|
get_user_pages_fast(E1, E2, E3, P)
|
get_user_pages_unlocked(E1, E2, P, E3)
|
get_user_pages_remote(E1, E2, E3, E4, P, E5)
|
pin_user_pages(E1, E2, E3, P)
|
pin_user_pages_fast(E1, E2, E3, P)
|
pin_user_pages_unlocked(E1, E2, P, E3)
|
pin_user_pages_remote(E1, E2, E3, E4, P, E5)
)

@depends on gup_array@
expression gup_array.P, I, N;
@@
(
- put_page(P[I])
+ unpin_user_page(P[I])
|
- release_pages(P, N)
+ unpin_user_pages(P, N)
)

@gup_one depends on patch@
expression E1, E2, E3, E4, E5, X;
@@
(
get_user_pages(E1, E2, E3, &X)
|
get_user_pages_fast(E1, E2, E3, &X)
|
get_user_pages_unlocked(E1, E2, &X, E3)
|
get_user_pages_remote(E1, E2, E3, E4, &X, E5)
|
pin_user_pages(E1, E2, E3, &X)
|
pin_user_pages_fast(E1, E2, E3, &X)
|
pin_user_pages_unlocked(E1, E2, &X, E3)
|
pin_user_pages_remote(E1, E2, E3, E4, &X, E5)
)

@depends on gup_one@
expression gup_one.X;
@@
- put_page(X)
+ unpin_user_page(X)
