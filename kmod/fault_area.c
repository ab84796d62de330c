// SPDX-License-Identifier: GPL-2.0
/*
 * fault_area.ko - magic ptes that signal, and a zero-copy pte-move map,
 * after Andrea Arcangeli's 2011 fault_area_prepare/fault_area_map proposal.
 *
 * The contract with userland is fault_area_uapi.h.  Every ioctl acts on the
 * mm of the process that opened /dev/fault_area; any other mm gets EPERM.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fault_area_uapi.h"

/* One open file: the mm it serves. */
struct fa_file {
	struct mm_struct *mm;	/* mmgrab()ed at open, the only mm allowed */
};

static int fa_open(struct inode *inode, struct file *file)
{
	struct fa_file *ff;

	if (!current->mm)
		return -EINVAL;
	ff = kzalloc(sizeof(*ff), GFP_KERNEL);
	if (!ff)
		return -ENOMEM;
	ff->mm = current->mm;
	mmgrab(ff->mm);
	file->private_data = ff;
	return 0;
}

static int fa_release(struct inode *inode, struct file *file)
{
	struct fa_file *ff = file->private_data;

	mmdrop(ff->mm);
	kfree(ff);
	return 0;
}

static long fa_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct fa_file *ff = file->private_data;

	if (current->mm != ff->mm)
		return -EPERM;
	switch (cmd) {
	default:
		return -ENOTTY;
	}
}

static const struct file_operations fa_fops = {
	.owner = THIS_MODULE,
	.open = fa_open,
	.release = fa_release,
	.unlocked_ioctl = fa_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice fa_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "fault_area",
	.fops = &fa_fops,
	.mode = 0600,
};

static int __init fa_init(void)
{
	return misc_register(&fa_misc);
}

static void __exit fa_exit(void)
{
	misc_deregister(&fa_misc);
}

module_init(fa_init);
module_exit(fa_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("fault_area: magic ptes that signal, and a zero-copy pte-move map");
