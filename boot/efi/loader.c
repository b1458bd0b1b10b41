/*
 * UEFI loader: reads hv.cfg and hv.elf from the directory it was started
 * from, places the hypervisor, gathers the machine description into one
 * boot_info, leaves boot services and jumps to the hypervisor.
 *
 * Every failure before the jump is printed on the console and the serial
 * port and returned to the firmware as an EFI error: never a hang.
 */
#include <efi.h>
#include <efilib.h>

#include "boot_info.h"
#include "config.h"
#include "elf_load.h"

#define PAGE_SIZE 4096
#define EXIT_BOOT_TRIES 8

typedef void __attribute__((sysv_abi, noreturn)) (*hv_entry_fn)(struct boot_info *);

static EFI_SERIAL_IO_PROTOCOL *extra_serial; /* NULL when ConOut already reaches a UART */

/* ConOut lists its devices in the "ConOut" variable; a UART node means serial. */
static BOOLEAN conout_has_uart(void)
{
	UINTN size = 0, off;
	UINT8 *dp = LibGetVariableAndSize(L"ConOut", &EfiGlobalVariable, &size);
	BOOLEAN found = FALSE;

	if (!dp)
		return FALSE;
	for (off = 0; off + sizeof(EFI_DEVICE_PATH) <= size;) {
		EFI_DEVICE_PATH *node = (EFI_DEVICE_PATH *)(dp + off);
		if (DevicePathType(node) == MESSAGING_DEVICE_PATH &&
		    DevicePathSubType(node) == MSG_UART_DP)
			found = TRUE;
		if (IsDevicePathEnd(node) || (UINTN)DevicePathNodeLength(node) < sizeof(EFI_DEVICE_PATH))
			break;
		off += DevicePathNodeLength(node);
	}
	FreePool(dp);
	return found;
}

static void serial_init(void)
{
	if (conout_has_uart())
		return;
	if (EFI_ERROR(LibLocateProtocol(&SerialIoProtocol, (void **)&extra_serial)))
		extra_serial = NULL;
}

static void say(const CHAR16 *fmt, ...)
{
	CHAR16 wide[256];
	CHAR8 narrow[256];
	UINTN i, n;
	va_list ap;

	va_start(ap, fmt);
	VSPrint(wide, sizeof(wide), fmt, ap);
	va_end(ap);
	uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, wide);
	if (!extra_serial)
		return;
	for (n = 0; wide[n] && n < sizeof(narrow); n++)
		narrow[n] = wide[n] < 0x80 ? (CHAR8)wide[n] : '?';
	i = n;
	uefi_call_wrapper(extra_serial->Write, 3, extra_serial, &i, narrow);
}

static EFI_STATUS fail(EFI_STATUS st, const CHAR16 *what, const CHAR16 *name)
{
	say(L"hv loader: %s %s: %r\n", what, name, st);
	return st;
}

static EFI_STATUS alloc_pages(UINT64 bytes, UINT8 **out)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					  EFI_SIZE_TO_PAGES(bytes), &addr);
	*out = (UINT8 *)(UINTN)addr;
	return st;
}

/* Opens the directory holding this loader's own file on its own volume. */
static EFI_STATUS open_boot_dir(EFI_HANDLE image, EFI_FILE_HANDLE *dir)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root;
	CHAR16 *path, *last = NULL, *p;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(st, L"cannot find", L"its loaded image");
	root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return fail(EFI_NOT_FOUND, L"cannot open", L"its boot volume");
	path = DevicePathToStr(li->FilePath);
	if (!path)
		return fail(EFI_OUT_OF_RESOURCES, L"cannot read", L"its file path");
	for (p = path; *p; p++)
		if (*p == L'\\')
			last = p;
	if (last)
		last[1] = 0;
	st = uefi_call_wrapper(root->Open, 5, root, dir, last ? path : L"\\", EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		fail(st, L"cannot open directory", path);
	FreePool(path);
	return st;
}

static EFI_STATUS read_file(EFI_FILE_HANDLE dir, const CHAR16 *name, UINT8 **data, UINT64 *size)
{
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *info;
	UINTN n;
	EFI_STATUS st;

	st = uefi_call_wrapper(dir->Open, 5, dir, &f, (CHAR16 *)name, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return fail(st, L"cannot open", name);
	info = LibFileInfo(f);
	if (!info) {
		uefi_call_wrapper(f->Close, 1, f);
		return fail(EFI_DEVICE_ERROR, L"cannot stat", name);
	}
	*size = info->FileSize;
	FreePool(info);
	st = alloc_pages(*size ? *size : 1, data);
	if (!EFI_ERROR(st)) {
		n = *size;
		st = uefi_call_wrapper(f->Read, 3, f, &n, *data);
		if (!EFI_ERROR(st) && n != *size)
			st = EFI_END_OF_FILE;
	}
	uefi_call_wrapper(f->Close, 1, f);
	return EFI_ERROR(st) ? fail(st, L"cannot read", name) : EFI_SUCCESS;
}

/* Reads a file of the boot directory into a new module; name is ASCII. */
static EFI_STATUS add_module(struct boot_info *bi, EFI_FILE_HANDLE dir, const char *name)
{
	struct boot_module *m = &bi->modules[bi->nmodules];
	CHAR16 wide[BOOT_MODULE_NAME_MAX];
	UINT8 *data;
	UINT64 size;
	UINTN i;
	EFI_STATUS st;

	for (i = 0; name[i] && i + 1 < BOOT_MODULE_NAME_MAX; i++)
		wide[i] = (CHAR16)name[i];
	wide[i] = 0;
	if (name[i])
		return fail(EFI_INVALID_PARAMETER, L"file name too long:", wide);
	if (bi->nmodules == BOOT_MODULES_MAX)
		return fail(EFI_OUT_OF_RESOURCES, L"too many files, cannot add", wide);
	st = read_file(dir, wide, &data, &size);
	if (EFI_ERROR(st))
		return st;
	m->base = (UINT64)(UINTN)data;
	m->size = size;
	for (i = 0; name[i]; i++)
		m->name[i] = name[i];
	m->name[i] = 0;
	bi->nmodules++;
	return EFI_SUCCESS;
}

struct guest_files {
	struct boot_info *bi;
	EFI_FILE_HANDLE dir;
};

static void add_guest_file(void *ctx, const struct cfg_partition *part, const char *key, const char *name,
			   UINT32 line)
{
	struct guest_files *gf = ctx;

	(void)part, (void)key, (void)line;
	if (!boot_module_find(gf->bi, name))
		add_module(gf->bi, gf->dir, name); /* a failure is printed; the hypervisor refuses the config */
}

/*
 * Reads the files hv.cfg names. A config with errors loads nothing more:
 * the hypervisor parses it again and reports each error with its line.
 */
static void load_guest_files(struct boot_info *bi, EFI_FILE_HANDLE dir)
{
	const struct boot_module *m = boot_module_find(bi, CONFIG_FILE);
	struct hv_config *cfg = AllocatePool(sizeof(*cfg));
	struct cfg_errors *errs = AllocatePool(sizeof(*errs));
	struct guest_files gf = { bi, dir };

	if (!cfg || !errs) {
		say(L"hv loader: no memory to read hv.cfg's partitions\n");
	} else if (cfg_parse((const char *)(UINTN)m->base, m->size, cfg, errs)) {
		say(L"hv loader: hv.cfg has errors; the hypervisor will list them\n");
	} else {
		cfg_each_file(cfg, add_guest_file, &gf);
	}
	if (cfg)
		FreePool(cfg);
	if (errs)
		FreePool(errs);
}

static EFI_STATUS load_hv(EFI_FILE_HANDLE dir, struct boot_info *bi, hv_entry_fn *entry)
{
	struct elf_image img;
	UINT8 *file, *dest;
	UINT64 size;
	const char *why;
	EFI_STATUS st = read_file(dir, L"hv.elf", &file, &size);

	if (EFI_ERROR(st))
		return st;
	why = elf_check(file, size, &img);
	if (!why && !img.relocatable)
		why = "not a position-independent image";
	if (why) {
		say(L"hv loader: hv.elf refused: %a\n", why);
		return EFI_LOAD_ERROR;
	}
	st = alloc_pages(img.span, &dest);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", L"hv.elf");
	why = elf_place(file, &img, dest);
	uefi_call_wrapper(BS->FreePages, 2, (EFI_PHYSICAL_ADDRESS)(UINTN)file, EFI_SIZE_TO_PAGES(size));
	if (why) {
		say(L"hv loader: hv.elf refused: %a\n", why);
		return EFI_LOAD_ERROR;
	}
	bi->hv_base = (UINT64)(UINTN)dest;
	bi->hv_size = img.span;
	*entry = (hv_entry_fn)(UINTN)(dest + img.entry);
	return EFI_SUCCESS;
}

static UINT64 find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	UINT64 rsdp = 0;
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (!CompareGuid(&t->VendorGuid, &acpi20))
			return (UINT64)(UINTN)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			rsdp = (UINT64)(UINTN)t->VendorTable;
	}
	return rsdp;
}

static UINT32 region_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return MEM_FREE;
	case EfiLoaderCode:
	case EfiLoaderData:
		return MEM_LOADED;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return MEM_RUNTIME;
	case EfiACPIReclaimMemory:
		return MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return MEM_BAD;
	default:
		return MEM_RESERVED;
	}
}

/* Inserts in base order, merging with a neighbour of the same type. */
static void add_region(struct boot_info *bi, UINT64 base, UINT64 size, UINT32 type)
{
	struct mem_region *r = bi->regions;
	UINT32 i = bi->nregions;

	while (i > 0 && r[i - 1].base > base) {
		r[i] = r[i - 1];
		i--;
	}
	if (i > 0 && r[i - 1].type == type && r[i - 1].base + r[i - 1].size == base &&
	    i == bi->nregions) {
		r[i - 1].size += size;
		return;
	}
	r[i].base = base;
	r[i].size = size;
	r[i].type = type;
	r[i].reserved = 0;
	bi->nregions++;
}

/* Runs after ExitBootServices: no firmware calls, pure computation. */
static void convert_map(struct boot_info *bi, UINT8 *map, UINTN map_size, UINTN desc_size)
{
	UINTN off;

	bi->nregions = 0;
	for (off = 0; off + desc_size <= map_size && bi->nregions < bi->max_regions; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(map + off);
		add_region(bi, d->PhysicalStart, d->NumberOfPages * PAGE_SIZE, region_type(d->Type));
	}
	bi->size = (UINT32)(sizeof(*bi) + bi->nregions * sizeof(struct mem_region));
}

/* Room for the map as it is now plus what our own allocations may add. */
static EFI_STATUS alloc_map(UINT8 **map, UINTN *cap, struct boot_info **bi)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_ver;
	UINT64 bi_bytes;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key, &desc_size, &desc_ver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return fail(st, L"cannot size", L"the memory map");
	*cap = size + 32 * desc_size;
	st = alloc_pages(*cap, map);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", L"the memory map");
	bi_bytes = sizeof(**bi) + (*cap / desc_size) * sizeof(struct mem_region);
	st = alloc_pages(bi_bytes, (UINT8 **)bi);
	if (EFI_ERROR(st))
		return fail(st, L"no memory for", L"boot_info");
	SetMem(*bi, bi_bytes, 0);
	(*bi)->magic = BOOT_INFO_MAGIC;
	(*bi)->version = BOOT_INFO_VERSION;
	(*bi)->self_size = bi_bytes;
	(*bi)->max_regions = (UINT32)(*cap / desc_size);
	return EFI_SUCCESS;
}

/*
 * The map key changes whenever the firmware allocates, which it may do
 * between our GetMemoryMap and ExitBootServices: then ExitBootServices
 * fails with EFI_INVALID_PARAMETER and the map must be read again (UEFI
 * spec 2.10, 7.4 ExitBootServices). Only GetMemoryMap and ExitBootServices
 * may be called between tries, so nothing is printed here.
 */
static EFI_STATUS exit_boot_services(EFI_HANDLE image, struct boot_info *bi, UINT8 *map, UINTN cap)
{
	UINTN size, key, desc_size;
	UINT32 desc_ver;
	EFI_STATUS st = EFI_INVALID_PARAMETER;
	int tries;

	for (tries = 0; tries < EXIT_BOOT_TRIES && st == EFI_INVALID_PARAMETER; tries++) {
		size = cap;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, (EFI_MEMORY_DESCRIPTOR *)map, &key,
				       &desc_size, &desc_ver);
		if (EFI_ERROR(st))
			return st;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
	}
	if (!EFI_ERROR(st))
		convert_map(bi, map, size, desc_size);
	return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct boot_info *bi = NULL;
	EFI_FILE_HANDLE dir;
	hv_entry_fn entry;
	UINT8 *map = NULL;
	UINTN cap = 0;
	EFI_STATUS st;

	InitializeLib(image, systab);
	serial_init();
	say(L"hv loader: starting\n");
	st = alloc_map(&map, &cap, &bi);
	if (EFI_ERROR(st))
		return st;
	st = open_boot_dir(image, &dir);
	if (EFI_ERROR(st))
		return st;
	st = add_module(bi, dir, CONFIG_FILE);
	if (!EFI_ERROR(st))
		st = load_hv(dir, bi, &entry);
	if (!EFI_ERROR(st))
		load_guest_files(bi, dir);
	uefi_call_wrapper(dir->Close, 1, dir);
	if (EFI_ERROR(st))
		return st;
	bi->acpi_rsdp = find_rsdp();
	say(L"hv loader: hv.elf at 0x%lx, %d files, leaving boot services\n", bi->hv_base,
	    bi->nmodules);
	st = exit_boot_services(image, bi, map, cap);
	if (EFI_ERROR(st))
		return st;
	__asm__ volatile("cli");
	entry(bi);
}
