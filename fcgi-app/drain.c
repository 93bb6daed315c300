#include "drain.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

static atomic_int *flag;

int
drain_init(void)
{
	void *p = mmap(NULL, sizeof(*flag), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	flag = p;
	atomic_init(flag, 0);
	return 0;
}

void
drain_begin(void)
{
	if (flag != NULL)
		atomic_store(flag, 1);
}

int
drain_active(void)
{
	return flag != NULL && atomic_load(flag) != 0;
}
