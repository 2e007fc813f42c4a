//! block-devices: writing to disks and other raw devices.
//!
//! Any write to `/dev/...` other than the harmless pseudo-devices counts
//! (so new device names are covered by default), as do the programs that
//! format, wipe or repartition a device. Reading a device is fine.

use crate::args;
use crate::category::Category;
use crate::effects::Kind;
use crate::expand::{Arg, is_marker};
use crate::path::{Base, NPath};
use crate::walk::Walker;

/// Pseudo-devices that are safe to write to.
const HARMLESS: &[&str] = &[
    "null", "zero", "full", "random", "urandom", "stdin", "stdout", "stderr", "tty", "console",
    "ptmx", "kmsg", "log",
];
/// (`st*`/`nst*` are tape drives: writing a backup to them is their job.)
const HARMLESS_PREFIX: &[&str] = &[
    "st",
    "nst",
    "tty",
    "pts",
    "fd",
    "shm",
    "mqueue",
    "hugepages",
    "pty",
    "snd",
    "input",
];

/// True for `/dev/...` paths that may be a disk or memory.
pub fn is_device(np: &NPath) -> bool {
    if np.base != Base::Root || np.c(0) != Some("dev") {
        return false;
    }
    match np.c(1) {
        None => false,
        Some(c1) => !HARMLESS.contains(&c1) && !HARMLESS_PREFIX.iter().any(|p| c1.starts_with(p)),
    }
}

pub fn on_effect(w: &mut Walker, kind: Kind, np: &NPath, alt: bool, frag: &str) {
    if matches!(kind, Kind::Overwrite | Kind::Append | Kind::Modify) && is_device(np) {
        w.find(
            Category::BlockDevices,
            format!("write to device {}{}", np.display(), super::alt_note(alt)),
            frag,
        );
    }
}

/// The operands that name a device, or an unknown target.
fn device_operands(w: &Walker, ops: &[&Arg]) -> Option<String> {
    for a in ops {
        for v in a.variants() {
            if v.starts_with(is_marker) {
                return Some(a.display());
            }
            if let Some(np) = w.norm(v)
                && is_device(&np)
            {
                return Some(np.display());
            }
        }
    }
    None
}

fn is_mkfs(name: &str) -> bool {
    name == "mkfs"
        || name.starts_with("mkfs.")
        || name.starts_with("mke2fs")
        || matches!(
            name,
            "mkswap"
                | "mkdosfs"
                | "mkntfs"
                | "mkexfatfs"
                | "mkfs_msdos"
                | "newfs"
                | "mkudffs"
                | "mkreiserfs"
                | "mkhfs"
        )
}

/// Programs this module looks at (everything else returns at once).
fn relevant(name: &str) -> bool {
    is_mkfs(name)
        || matches!(
            name,
            "wipefs"
                | "blkdiscard"
                | "sgdisk"
                | "fdisk"
                | "gdisk"
                | "cfdisk"
                | "cgdisk"
                | "sfdisk"
                | "parted"
                | "hdparm"
                | "nvme"
                | "badblocks"
                | "cryptsetup"
                | "mdadm"
                | "pvcreate"
                | "pvremove"
                | "vgremove"
                | "lvremove"
                | "zpool"
                | "zfs"
                | "flashrom"
        )
}

pub fn check(w: &mut Walker, name: &str, a: &[Arg], frag: &str) {
    if !relevant(name) {
        return;
    }
    let o = args::parse(a, "", &[], false);
    if o.long("help") || o.long("version") {
        return;
    }
    let first = o.operands.first().map(|x| x.text.as_str()).unwrap_or("");
    let what: Option<&str> = match name {
        _ if is_mkfs(name) => Some("formats"),
        "wipefs" if o.short('a') || o.long("all") || o.short('o') || o.long("offset") => {
            Some("wipes the signatures of")
        }
        "blkdiscard" => Some("discards every block of"),
        "sgdisk" => {
            const SHORT: &[char] = &[
                'Z', 'z', 'o', 'n', 'd', 'g', 'N', 'R', 'G', 'm', 'l', 'e', 'x', 't', 'c',
            ];
            const LONG: &[&str] = &[
                "zap-all",
                "zap",
                "clear",
                "new",
                "delete",
                "mbrtogpt",
                "largest-new",
                "replicate",
                "randomize-guids",
                "gpttombr",
                "load-backup",
                "typecode",
                "change-name",
            ];
            (o.shorts.iter().any(|c| SHORT.contains(c)) || LONG.iter().any(|l| o.long(l)))
                .then_some("rewrites the partition table of")
        }
        "fdisk" | "gdisk" | "cfdisk" | "cgdisk" if !o.short('l') && !o.long("list") => {
            Some("edits the partition table of")
        }
        "sfdisk" => {
            let read_only = ['l', 'd', 'V', 's', 'J', 'g', 'F']
                .iter()
                .any(|c| o.short(*c))
                || [
                    "list",
                    "dump",
                    "verify",
                    "show-size",
                    "json",
                    "show-geometry",
                    "list-free",
                ]
                .iter()
                .any(|l| o.long(l));
            (!read_only).then_some("rewrites the partition table of")
        }
        "parted" => {
            const WRITES: &[&str] = &[
                "mklabel",
                "mktable",
                "mkpart",
                "rm",
                "resizepart",
                "mkfs",
                "rescue",
            ];
            o.operands
                .iter()
                .any(|x| WRITES.contains(&x.text.as_str()))
                .then_some("rewrites the partition table of")
        }
        "hdparm" => {
            const LONG: &[&str] = &[
                "security-erase",
                "security-erase-enhanced",
                "trim-sector-ranges",
                "trim-sector-ranges-stdin",
                "write-sector",
                "fwdownload",
                "make-bad-sector",
                "security-set-pass",
            ];
            LONG.iter()
                .any(|l| o.long(l))
                .then_some("erases or overwrites")
        }
        "nvme" => matches!(
            first,
            "format" | "sanitize" | "delete-ns" | "write-zeroes" | "write"
        )
        .then_some("erases"),
        "badblocks" => (o.short('w')).then_some("overwrites (destructive test)"),
        "cryptsetup" => matches!(
            first,
            "luksFormat" | "erase" | "luksErase" | "reencrypt" | "luksKillSlot"
        )
        .then_some("destroys the encryption header of"),
        "mdadm" => (o.long("zero-superblock") || o.short('C') || o.long("create"))
            .then_some("overwrites the RAID metadata of"),
        "pvcreate" | "pvremove" | "vgremove" | "lvremove" => {
            w.find(
                Category::BlockDevices,
                format!("{name} destroys LVM volumes"),
                frag,
            );
            None
        }
        "zpool" if matches!(first, "destroy" | "labelclear" | "create") => {
            if first != "create" {
                w.find(
                    Category::BlockDevices,
                    format!("zpool {first} destroys a pool"),
                    frag,
                );
                None
            } else {
                Some("creates a pool on (erasing)")
            }
        }
        "zfs" if first == "destroy" => {
            w.find(
                Category::BlockDevices,
                "zfs destroy destroys a dataset",
                frag,
            );
            None
        }
        "flashrom" if o.short('w') || o.long("write") || o.short('E') || o.long("erase") => {
            w.find(Category::BlockDevices, "flashrom writes the firmware", frag);
            None
        }
        _ => None,
    };
    let Some(what) = what else { return };
    let ops: Vec<&Arg> = if name == "parted" || name == "nvme" || name == "cryptsetup" {
        o.operands.clone()
    } else {
        // Options may take values (`mkfs -L data`): look at every word.
        a.iter().filter(|x| !x.text.starts_with('-')).collect()
    };
    if let Some(dev) = device_operands(w, &ops) {
        w.find(Category::BlockDevices, format!("{name} {what} {dev}"), frag);
    } else if matches!(
        name,
        "blkdiscard" | "sgdisk" | "sfdisk" | "parted" | "nvme" | "hdparm" | "cryptsetup" | "mdadm"
    ) && ops.iter().any(|x| !x.exact)
    {
        w.find(
            Category::BlockDevices,
            format!("{name} {what} a device chosen at run time"),
            frag,
        );
    }
}
