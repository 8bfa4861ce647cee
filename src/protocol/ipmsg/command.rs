//! The command word of an IPMsg packet: a mode in the low 8 bits, option flags above.
//!
//! The same bit means different things for entry-type commands (`BR_ENTRY`, `ANSENTRY`,
//! `BR_ABSENCE`, `BR_EXIT`) and send-type ones (`SENDMSG`, ...): 0x100 is ABSENCEOPT for
//! the former and SENDCHECKOPT for the latter. [`Opt`] names each meaning separately and
//! [`Command::has`] only answers `true` for the meaning that fits the command's mode, so
//! "is this iptux peer away?" can never be confused with "does this message want an ack?".

use std::fmt;

/// What a packet does: `command & 0xFF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0x00: nothing; ignored.
    NoOperation,
    /// 0x01: "I am online" (broadcast, or unicast as a probe); answered by `AnsEntry`.
    BrEntry,
    /// 0x02: "I am leaving".
    BrExit,
    /// 0x03: the unicast answer to `BrEntry`; same payload.
    AnsEntry,
    /// 0x04: name, group or away status changed; no answer.
    BrAbsence,
    /// 0x20: a text message, possibly with files attached.
    SendMsg,
    /// 0x21: acknowledges a `SendMsg`; body = its packet number in decimal.
    RecvMsg,
    /// 0x30: a sealed message was opened.
    ReadMsg,
    /// 0x31: a sealed message was discarded unread.
    DelMsg,
    /// 0x32: acknowledges `ReadMsg`.
    AnsReadMsg,
    /// 0x40: version query.
    GetInfo,
    /// 0x41: version answer.
    SendInfo,
    /// 0x50: away-text query.
    GetAbsenceInfo,
    /// 0x51: away-text answer.
    SendAbsenceInfo,
    /// 0x60: (TCP) "send me the bytes of this attachment".
    GetFileData,
    /// 0x61: the receiver will not fetch an offer's files; body = its packet number.
    ReleaseFiles,
    /// 0x62: (TCP) "send me this directory" (not supported).
    GetDirFiles,
    /// 0x72: public-key request (encryption; not supported).
    GetPubKey,
    /// 0x73: public-key answer (encryption; not supported).
    AnsPubKey,
    /// 0xFB: iptux's group/broadcast chat.
    IptuxSendMsg,
    /// 0xFC: iptux's personal signature.
    IptuxSendSign,
    /// 0xFD: iptux's photo/picture stream (TCP).
    IptuxSendSublayer,
    /// 0xFE: iptux's icon (raw PNG after the header).
    IptuxSendIcon,
    /// 0xFF: iptux's shared-files query.
    IptuxAskShared,
    /// Any other mode byte.
    Unknown(u8),
}

impl Mode {
    /// Every named mode, for tests and tables.
    pub const ALL: [Mode; 24] = [
        Mode::NoOperation,
        Mode::BrEntry,
        Mode::BrExit,
        Mode::AnsEntry,
        Mode::BrAbsence,
        Mode::SendMsg,
        Mode::RecvMsg,
        Mode::ReadMsg,
        Mode::DelMsg,
        Mode::AnsReadMsg,
        Mode::GetInfo,
        Mode::SendInfo,
        Mode::GetAbsenceInfo,
        Mode::SendAbsenceInfo,
        Mode::GetFileData,
        Mode::ReleaseFiles,
        Mode::GetDirFiles,
        Mode::GetPubKey,
        Mode::AnsPubKey,
        Mode::IptuxSendMsg,
        Mode::IptuxSendSign,
        Mode::IptuxSendSublayer,
        Mode::IptuxSendIcon,
        Mode::IptuxAskShared,
    ];

    /// The mode byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            Mode::NoOperation => 0x00,
            Mode::BrEntry => 0x01,
            Mode::BrExit => 0x02,
            Mode::AnsEntry => 0x03,
            Mode::BrAbsence => 0x04,
            Mode::SendMsg => 0x20,
            Mode::RecvMsg => 0x21,
            Mode::ReadMsg => 0x30,
            Mode::DelMsg => 0x31,
            Mode::AnsReadMsg => 0x32,
            Mode::GetInfo => 0x40,
            Mode::SendInfo => 0x41,
            Mode::GetAbsenceInfo => 0x50,
            Mode::SendAbsenceInfo => 0x51,
            Mode::GetFileData => 0x60,
            Mode::ReleaseFiles => 0x61,
            Mode::GetDirFiles => 0x62,
            Mode::GetPubKey => 0x72,
            Mode::AnsPubKey => 0x73,
            Mode::IptuxSendMsg => 0xFB,
            Mode::IptuxSendSign => 0xFC,
            Mode::IptuxSendSublayer => 0xFD,
            Mode::IptuxSendIcon => 0xFE,
            Mode::IptuxAskShared => 0xFF,
            Mode::Unknown(b) => b,
        }
    }

    /// The mode for a byte from the wire.
    pub fn from_byte(byte: u8) -> Mode {
        Mode::ALL
            .into_iter()
            .find(|m| m.byte() == byte)
            .unwrap_or(Mode::Unknown(byte))
    }

    /// Entry-type modes, whose 0x100/0x200 bits mean ABSENCEOPT/SERVEROPT.
    pub fn is_entry_type(self) -> bool {
        matches!(
            self,
            Mode::BrEntry | Mode::BrExit | Mode::AnsEntry | Mode::BrAbsence
        )
    }

    /// Short stable name for logs and counters (`br_entry`, `sendmsg`, `unknown`...).
    pub fn label(self) -> &'static str {
        match self {
            Mode::NoOperation => "nooperation",
            Mode::BrEntry => "br_entry",
            Mode::BrExit => "br_exit",
            Mode::AnsEntry => "ansentry",
            Mode::BrAbsence => "br_absence",
            Mode::SendMsg => "sendmsg",
            Mode::RecvMsg => "recvmsg",
            Mode::ReadMsg => "readmsg",
            Mode::DelMsg => "delmsg",
            Mode::AnsReadMsg => "ansreadmsg",
            Mode::GetInfo => "getinfo",
            Mode::SendInfo => "sendinfo",
            Mode::GetAbsenceInfo => "getabsenceinfo",
            Mode::SendAbsenceInfo => "sendabsenceinfo",
            Mode::GetFileData => "getfiledata",
            Mode::ReleaseFiles => "releasefiles",
            Mode::GetDirFiles => "getdirfiles",
            Mode::GetPubKey => "getpubkey",
            Mode::AnsPubKey => "anspubkey",
            Mode::IptuxSendMsg => "iptux_sendmsg",
            Mode::IptuxSendSign => "iptux_send_sign",
            Mode::IptuxSendSublayer => "iptux_sendsublayer",
            Mode::IptuxSendIcon => "iptux_sendicon",
            Mode::IptuxAskShared => "iptux_askshared",
            Mode::Unknown(_) => "unknown",
        }
    }
}

/// One option flag, named by its meaning (see the module docs for the shared bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opt {
    /// 0x100 on entry-type commands: the sender is away. iptux always sets it.
    Absence,
    /// 0x200 on entry-type commands: the sender is a server.
    Server,
    /// 0x100 on send-type commands: "please acknowledge with `RECVMSG`".
    SendCheck,
    /// 0x200 on send-type commands: a sealed message.
    Secret,
    /// 0x400 on send-type commands: sent to everyone; do not acknowledge.
    Broadcast,
    /// 0x800 on send-type commands: sent to several people.
    Multicast,
    /// 0x2000 on send-type commands: an automatic reply; do not acknowledge or answer.
    AutoRet,
    /// 0x100000 on send-type commands: wants `READMSG` when opened.
    ReadCheck,
    /// 0x10000: the sender is not reachable by broadcast (entries come by unicast).
    DialUp,
    /// 0x200000: files are attached (a file list follows the text).
    FileAttach,
    /// 0x400000: the payload is encrypted (never set by lanchat; such packets are refused).
    Encrypt,
    /// 0x800000: this packet's strings are UTF-8.
    Utf8,
    /// 0x1000000: the sender can read UTF-8 packets.
    CapUtf8,
}

impl Opt {
    /// Every option, for tests and tables.
    pub const ALL: [Opt; 13] = [
        Opt::Absence,
        Opt::Server,
        Opt::SendCheck,
        Opt::Secret,
        Opt::Broadcast,
        Opt::Multicast,
        Opt::AutoRet,
        Opt::ReadCheck,
        Opt::DialUp,
        Opt::FileAttach,
        Opt::Encrypt,
        Opt::Utf8,
        Opt::CapUtf8,
    ];

    /// The bit on the wire.
    pub fn bit(self) -> u32 {
        match self {
            Opt::Absence | Opt::SendCheck => 0x0000_0100,
            Opt::Server | Opt::Secret => 0x0000_0200,
            Opt::Broadcast => 0x0000_0400,
            Opt::Multicast => 0x0000_0800,
            Opt::AutoRet => 0x0000_2000,
            Opt::DialUp => 0x0001_0000,
            Opt::ReadCheck => 0x0010_0000,
            Opt::FileAttach => 0x0020_0000,
            Opt::Encrypt => 0x0040_0000,
            Opt::Utf8 => 0x0080_0000,
            Opt::CapUtf8 => 0x0100_0000,
        }
    }

    /// Whether this meaning applies to `mode`: entry-only options on entry-type commands,
    /// send-only options on the others, the rest everywhere.
    pub fn applies_to(self, mode: Mode) -> bool {
        match self {
            Opt::Absence | Opt::Server => mode.is_entry_type(),
            Opt::SendCheck
            | Opt::Secret
            | Opt::Broadcast
            | Opt::Multicast
            | Opt::AutoRet
            | Opt::ReadCheck => !mode.is_entry_type(),
            Opt::DialUp | Opt::FileAttach | Opt::Encrypt | Opt::Utf8 | Opt::CapUtf8 => true,
        }
    }
}

/// A whole command word: mode and options, exactly as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command(pub u32);

impl Command {
    /// A command of `mode` with the options in `opts` (each must apply to the mode, or
    /// it would mean something else: debug builds assert it).
    pub fn new(mode: Mode, opts: &[Opt]) -> Command {
        let mut word = u32::from(mode.byte());
        for opt in opts {
            debug_assert!(opt.applies_to(mode), "{opt:?} does not apply to {mode:?}");
            word |= opt.bit();
        }
        Command(word)
    }

    /// The mode (low 8 bits).
    pub fn mode(self) -> Mode {
        Mode::from_byte((self.0 & 0xFF) as u8)
    }

    /// The option bits (everything above the mode byte).
    pub fn options(self) -> u32 {
        self.0 & !0xFF
    }

    /// Whether `opt` is set *with the meaning `opt` names*: `Opt::SendCheck` is false on a
    /// `BR_ENTRY` even though its 0x100 bit (ABSENCEOPT there) is set.
    pub fn has(self, opt: Opt) -> bool {
        opt.applies_to(self.mode()) && self.0 & opt.bit() != 0
    }

    /// This command with `opt` added.
    pub fn with(self, opt: Opt) -> Command {
        debug_assert!(opt.applies_to(self.mode()));
        Command(self.0 | opt.bit())
    }

    /// Whether a `SENDMSG` of this command must be answered with `RECVMSG`: SENDCHECKOPT,
    /// and neither BROADCASTOPT nor AUTORETOPT (which say "do not acknowledge").
    pub fn wants_ack(self) -> bool {
        self.mode() == Mode::SendMsg
            && self.has(Opt::SendCheck)
            && !self.has(Opt::Broadcast)
            && !self.has(Opt::AutoRet)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_through_its_byte() {
        for mode in Mode::ALL {
            assert_eq!(Mode::from_byte(mode.byte()), mode);
        }
        assert_eq!(Mode::from_byte(0x99), Mode::Unknown(0x99));
        assert_eq!(Mode::Unknown(0x99).byte(), 0x99);
        let bytes: Vec<u8> = Mode::ALL.iter().map(|m| m.byte()).collect();
        assert_eq!(
            bytes,
            [
                0x00, 0x01, 0x02, 0x03, 0x04, 0x20, 0x21, 0x30, 0x31, 0x32, 0x40, 0x41, 0x50, 0x51,
                0x60, 0x61, 0x62, 0x72, 0x73, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF
            ]
        );
    }

    #[test]
    fn option_bits_are_the_protocols() {
        let bits: Vec<u32> = Opt::ALL.iter().map(|o| o.bit()).collect();
        assert_eq!(
            bits,
            [
                0x100, 0x200, 0x100, 0x200, 0x400, 0x800, 0x2000, 0x100000, 0x10000, 0x200000,
                0x400000, 0x800000, 0x1000000
            ]
        );
    }

    #[test]
    fn the_shared_bits_mean_what_the_mode_says() {
        // iptux's BR_ENTRY (257) sets 0x100: away there, not "wants an ack".
        let entry = Command(257);
        assert_eq!(entry.mode(), Mode::BrEntry);
        assert!(entry.has(Opt::Absence));
        assert!(!entry.has(Opt::SendCheck));
        // SENDMSG|SENDCHECKOPT (288): wants an ack, not away.
        let msg = Command(288);
        assert_eq!(msg.mode(), Mode::SendMsg);
        assert!(msg.has(Opt::SendCheck));
        assert!(!msg.has(Opt::Absence));
        assert!(msg.wants_ack());
        // 0x200: SERVEROPT on entries, SECRETOPT on messages.
        assert!(Command(0x201).has(Opt::Server));
        assert!(!Command(0x201).has(Opt::Secret));
        assert!(Command(0x220).has(Opt::Secret));
        assert!(!Command(0x220).has(Opt::Server));
    }

    #[test]
    fn commands_seen_from_iptux_decode() {
        assert_eq!(Command(259).mode(), Mode::AnsEntry);
        assert!(Command(259).has(Opt::Absence));
        assert_eq!(Command(289).mode(), Mode::RecvMsg);
        let offer = Command(2_097_184);
        assert_eq!(offer.mode(), Mode::SendMsg);
        assert!(offer.has(Opt::FileAttach));
        assert!(!offer.wants_ack(), "iptux's offer has no SENDCHECKOPT");
        let exit = Command(65_538);
        assert_eq!(exit.mode(), Mode::BrExit);
        assert!(exit.has(Opt::DialUp));
        assert_eq!(Command(96).mode(), Mode::GetFileData);
        assert_eq!(Command(33).mode(), Mode::RecvMsg);
    }

    #[test]
    fn broadcast_and_auto_replies_are_not_acknowledged() {
        let base = Command::new(Mode::SendMsg, &[Opt::SendCheck]);
        assert!(base.wants_ack());
        assert!(!base.with(Opt::Broadcast).wants_ack());
        assert!(!base.with(Opt::AutoRet).wants_ack());
        assert!(!Command::new(Mode::SendMsg, &[]).wants_ack());
        // An entry with 0x100 never "wants an ack".
        assert!(!Command::new(Mode::BrEntry, &[Opt::Absence]).wants_ack());
    }

    #[test]
    fn every_option_is_seen_only_with_its_meaning() {
        for mode in Mode::ALL {
            for opt in Opt::ALL {
                let word = Command(u32::from(mode.byte()) | opt.bit());
                assert_eq!(word.has(opt), opt.applies_to(mode), "{mode:?} {opt:?}");
            }
        }
        let all = Command(u32::MAX);
        assert_eq!(all.mode(), Mode::IptuxAskShared);
        assert_eq!(all.options(), 0xFFFF_FF00);
        assert_eq!(
            Command::new(Mode::BrEntry, &[Opt::CapUtf8]).0,
            0x0100_0001,
            "lanchat's BR_ENTRY"
        );
    }
}
