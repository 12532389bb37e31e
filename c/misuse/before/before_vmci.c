// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before (and in 6.12): drivers/misc/vmw_vmci vmci_host_setup_notify() /
 * vmci_ctx_unset_notify(). Case 5: the kernel writes a notify flag through
 * a long-lived plain reference kept in the context.
 */
#include "pin.h"

struct vmci_ctx {
	struct page *notify_page;
	bool *notify;
};

int vmci_host_setup_notify(struct vmci_ctx *context, unsigned long uva)
{
	if (get_user_pages_fast(uva, 1, FOLL_WRITE, &context->notify_page) != 1)	/* misuse: old-api */
		return -EFAULT;
	context->notify = kmap_local_page(context->notify_page);
	*context->notify = true;	/* misuse: race */
	return 0;
}

void vmci_ctx_unset_notify(struct vmci_ctx *context)
{
	struct page *notify_page = context->notify_page;

	context->notify = NULL;
	context->notify_page = NULL;
	if (notify_page)
		put_page(notify_page);	/* expect: pin via field */
}
