// SPDX-License-Identifier: GPL-2.0-only
/// put_page() or release_pages() on pages a pin call filled: a pin is
/// released with unpin_user_page*() (or, for a bvec, put_user_bvec()).
/// Matching is textual, as in unpin_user_page.cocci: the array, &page or
/// bvec the pin call was given, anywhere in the file.
//
// Confidence: Moderate
// Options: --no-includes
// Usage: make coccicheck COCCI=<this file> MODE=report M=<dir>

virtual report

@pin_array depends on report@
expression E1, E2, E3, E4, E5, P;
@@
(
pin_user_pages(E1, E2, E3, P)
|
pin_user_pages_fast(E1, E2, E3, P)
|
pin_user_pages_unlocked(E1, E2, P, E3)
|
pin_user_pages_remote(E1, E2, E3, E4, P, E5)
|
vaddr_pin_pages(E1, E2, E3, P, E4)
)

@put_array@
expression pin_array.P, I, N;
position p;
@@
(
put_page@p(P[I])
|
release_pages@p(P, N)
)

@pin_one depends on report@
expression E1, E2, E3, E4, E5, X;
@@
(
pin_user_pages(E1, E2, E3, &X)
|
pin_user_pages_fast(E1, E2, E3, &X)
|
pin_user_pages_unlocked(E1, E2, &X, E3)
|
pin_user_pages_remote(E1, E2, E3, E4, &X, E5)
|
vaddr_pin_pages(E1, E2, E3, &X, E4)
)

@put_one@
expression pin_one.X;
position p;
@@
put_page@p(X)

@pin_bvec depends on report@
expression E1, E2, E3, E4, E5, BV;
@@
get_user_bvec(E1, E2, E3, BV, E4, E5)

@put_bvec@
expression pin_bvec.BV, I;
position p;
@@
put_page@p(BV[I].bv_page)

@script:python depends on report@
p << put_array.p;
@@
coccilib.report.print_report(p[0], "put on a pin: unpin_user_page*() releases it")

@script:python depends on report@
p << put_one.p;
@@
coccilib.report.print_report(p[0], "put on a pin: unpin_user_page() releases it")

@script:python depends on report@
p << put_bvec.p;
@@
coccilib.report.print_report(p[0], "put on a bvec segment: put_user_bvec() releases it")
