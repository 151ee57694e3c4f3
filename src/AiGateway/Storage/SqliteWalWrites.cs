using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AiGateway.Storage;

/// <summary>
/// A SQLite VFS shim, registered as the process's default VFS, that hands each commit's WAL frames to the operating
/// system in one <c>write</c> instead of two per page. Everything else goes straight to SQLite's own VFS (<c>unix</c>
/// on Linux): files other than a WAL, every read, lock, sync and the shared-memory index.
/// <para>
/// Why (issue #13, <c>bench/Metering/threads.sh PW=1</c>, metered SQLite gateway): SQLite writes every WAL frame as two
/// <c>pwrite</c> calls, its 24-byte header and then its page, so a commit of ≈ 35 pages made ≈ 70 system calls — 4.9
/// per metered call, two thirds of all its file writes. On the benchmark VM (page-table isolation on) 25 frames cost
/// 116 µs of CPU written that way and 11 µs as one write of the same bytes; a call settled alone waits for all of them.
/// </para>
/// <para>
/// What stays true: SQLite writes a transaction's frames at increasing offsets and then publishes the commit in the
/// shared-memory index (other connections read frames only up to what is published). Contiguous writes to a WAL file
/// are gathered in a per-file buffer, and the buffer is written out (its error returned to SQLite) as soon as the page
/// of a commit frame arrives — a frame header whose "database size after commit" field is non-zero — so every commit's
/// frames are in the file before SQLite publishes it and before its COMMIT returns, exactly as without the shim. A
/// kill -9 can only lose frames of a transaction that has not committed, which SQLite's recovery ignores anyway. The
/// buffer is also written out before anything else touches that WAL (a read, sync, truncate, size, lock or file
/// control, a non-contiguous write, close) and before the same connection's database file takes or releases a
/// shared-memory lock or publishes through its memory barrier, so nothing can observe the file without its writes.
/// </para>
/// </summary>
internal static unsafe class SqliteWalWrites
{
    /// <summary>The name the shim is registered under (it is also the default VFS once registered).</summary>
    public const string VfsName = "aigw-wal";

    private const int SqliteOk = 0;
    private const int SqliteIoErr = 10;
    private const int SqliteNoMem = 7;
    private const int SqliteOpenWal = 0x00080000;
    private const int FrameHeaderSize = 24;

    /// <summary>
    /// A WAL file's write buffer (30 frames of 4 KiB pages; a larger commit takes one write per 30 frames): below the
    /// 128 KiB SQLite's unix VFS writes at once (its <c>seekAndWriteFd</c> masks a write's size with 0x1ffff, so a write
    /// of exactly 128 KiB would write nothing and report the disk full). Larger writes go straight through.
    /// </summary>
    internal const int BufferCapacity = 124 * 1024;

    // The shim's part of each open file; SQLite's own file object follows it.
    private static readonly int HeaderSize = sizeof(ShimFile);

    private static readonly Lock Gate = new();
    private static volatile bool _registered;
    private static Vfs* _real;
    // One method table per io_methods version (1–3), so a file reports the version its own VFS file does.
    private static IoMethods* _methods;

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern Vfs* sqlite3_vfs_find(byte* name);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern int sqlite3_vfs_register(Vfs* vfs, int makeDefault);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern ShimFile* sqlite3_database_file_object(byte* name);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
    private static extern int sqlite3_file_control(IntPtr db, byte* schema, int op, void* arg);

    private const int SqliteFcntlJournalPointer = 28;

    /// <summary>True once the shim is SQLite's default VFS in this process.</summary>
    public static bool Active => _registered;

    /// <summary>
    /// The writes SQLite made to the connection's open WAL through the shim, and the writes the shim made of them (for
    /// tests); null when the connection has no WAL open through the shim.
    /// </summary>
    internal static (long Writes, long FileWrites)? Counts(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        ShimFile* wal = null;
        var main = "main\0"u8;
        fixed (byte* schema = main)
        {
            if (sqlite3_file_control(connection.Handle!.DangerousGetHandle(), schema, SqliteFcntlJournalPointer, &wal) != SqliteOk) return null;
        }
        var buffer = wal is null ? null : OwnBuffer(wal);
        return buffer is null ? null : (buffer->Writes, buffer->FileWrites);
    }

    /// <summary>
    /// Registers the shim as SQLite's default VFS (once per process; connections opened before keep theirs). Does nothing
    /// when SQLite's default VFS is older than version 3 of the interface.
    /// </summary>
    public static void Register()
    {
        if (_registered) return;
        lock (Gate)
        {
            if (_registered) return;
            SQLitePCL.Batteries_V2.Init();
            var real = sqlite3_vfs_find(null);
            if (real is null || real->iVersion < 3) return;
            var methods = (IoMethods*)NativeMemory.AllocZeroed((nuint)(3 * sizeof(IoMethods)));
            for (var v = 0; v < 3; v++)
            {
                var m = &methods[v];
                m->iVersion = v + 1;
                m->xClose = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int>)&Close;
                m->xRead = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, byte*, int, long, int>)&Read;
                m->xWrite = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, byte*, int, long, int>)&Write;
                m->xTruncate = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, long, int>)&Truncate;
                m->xSync = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int>)&Sync;
                m->xFileSize = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, long*, int>)&FileSize;
                m->xLock = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int>)&LockFile;
                m->xUnlock = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int>)&UnlockFile;
                m->xCheckReservedLock = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int*, int>)&CheckReservedLock;
                m->xFileControl = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, void*, int>)&FileControl;
                m->xSectorSize = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int>)&SectorSize;
                m->xDeviceCharacteristics = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int>)&DeviceCharacteristics;
                if (v < 1) continue;
                m->xShmMap = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int, int, void**, int>)&ShmMap;
                m->xShmLock = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int, int, int>)&ShmLock;
                m->xShmBarrier = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, void>)&ShmBarrier;
                m->xShmUnmap = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, int, int>)&ShmUnmap;
                if (v < 2) continue;
                m->xFetch = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, long, int, void**, int>)&Fetch;
                m->xUnfetch = (IntPtr)(delegate* unmanaged[Cdecl]<ShimFile*, long, void*, int>)&Unfetch;
            }
            var vfs = (Vfs*)NativeMemory.AllocZeroed((nuint)sizeof(Vfs));
            *vfs = *real; // the version-3 fields; the functions without a file (delete, access, paths, time) stay SQLite's
            vfs->iVersion = 3;
            vfs->szOsFile = HeaderSize + real->szOsFile;
            vfs->pNext = null;
            vfs->pAppData = null;
            var name = System.Text.Encoding.UTF8.GetBytes(VfsName + "\0");
            vfs->zName = (byte*)NativeMemory.Alloc((nuint)name.Length);
            name.CopyTo(new Span<byte>(vfs->zName, name.Length));
            vfs->xOpen = (IntPtr)(delegate* unmanaged[Cdecl]<Vfs*, byte*, ShimFile*, int, int*, int>)&Open;
            _real = real;
            _methods = methods;
            var rc = sqlite3_vfs_register(vfs, 1);
            if (rc != SqliteOk) throw new InvalidOperationException($"sqlite3_vfs_register failed ({rc}).");
            _registered = true;
        }
    }

    // ---- the VFS ----

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(Vfs* vfs, byte* name, ShimFile* file, int flags, int* outFlags)
    {
        *file = default;
        var real = Real(file);
        var rc = ((delegate* unmanaged[Cdecl]<Vfs*, byte*, void*, int, int*, int>)_real->xOpen)(_real, name, real, flags, outFlags);
        // SQLite calls xClose exactly when pMethods is set after xOpen, whatever xOpen returned: mirror SQLite's own file.
        var realMethods = RealMethods(file);
        if (realMethods is null) return rc;
        file->pMethods = &_methods[Math.Clamp(realMethods->iVersion, 1, 3) - 1];
        if (rc != SqliteOk || (flags & SqliteOpenWal) == 0 || name is null) return rc;
        WalBuffer* buffer;
        try
        {
            buffer = (WalBuffer*)NativeMemory.AllocZeroed((nuint)sizeof(WalBuffer));
        }
        catch (OutOfMemoryException)
        {
            return rc; // this WAL file is written through, unbuffered
        }
        buffer->Real = real;
        file->Wal = buffer;
        // The same connection's database file: it writes the buffer out before shared-memory locks and barriers.
        var db = sqlite3_database_file_object(name);
        if (db is not null && db->pMethods is not null && db->pMethods >= _methods && db->pMethods < _methods + 3)
        {
            buffer->Db = db;
            db->Wal = buffer;
        }
        return rc;
    }

    // ---- the files ----

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Close(ShimFile* file)
    {
        var rc = SqliteOk;
        var buffer = file->Wal;
        if (buffer is not null)
        {
            rc = Flush(buffer);
            if (buffer->Real == Real(file))
            {
                // The WAL itself: unlink it from its database file and free it.
                if (buffer->Db is not null) buffer->Db->Wal = null;
                if (buffer->Data is not null) NativeMemory.Free(buffer->Data);
                NativeMemory.Free(buffer);
            }
            else
            {
                buffer->Db = null;
            }
            file->Wal = null;
        }
        var closed = ((delegate* unmanaged[Cdecl]<void*, int>)RealMethods(file)->xClose)(Real(file));
        file->pMethods = null;
        return rc != SqliteOk ? rc : closed;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(ShimFile* file, byte* data, int amount, long offset)
    {
        var rc = FlushOwn(file);
        if (rc != SqliteOk) return rc;
        return ((delegate* unmanaged[Cdecl]<void*, byte*, int, long, int>)RealMethods(file)->xRead)(Real(file), data, amount, offset);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(ShimFile* file, byte* data, int amount, long offset)
    {
        var buffer = OwnBuffer(file);
        if (buffer is null) return RealWrite(Real(file), data, amount, offset);
        buffer->Writes++;
        int rc;
        if (buffer->Length > 0 && (offset != buffer->Start + buffer->Length || buffer->Length + amount > BufferCapacity))
        {
            rc = Flush(buffer);
            if (rc != SqliteOk) return rc;
        }
        if (amount > BufferCapacity || amount <= 0)
        {
            buffer->FileWrites++;
            return RealWrite(Real(file), data, amount, offset);
        }
        if (buffer->Data is null)
        {
            try
            {
                buffer->Data = (byte*)NativeMemory.Alloc(BufferCapacity);
            }
            catch (OutOfMemoryException)
            {
                return SqliteNoMem;
            }
        }
        if (buffer->Length == 0) buffer->Start = offset;
        Buffer.MemoryCopy(data, buffer->Data + buffer->Length, BufferCapacity - buffer->Length, amount);
        buffer->Length += amount;
        if (buffer->CommitPending != 0)
        {
            // The page of a commit frame: the transaction's frames go to the file now, before SQLite publishes the
            // commit, and a failure fails the COMMIT.
            return Flush(buffer);
        }
        // A frame header whose "database size after commit" (bytes 4–7) is non-zero marks the commit frame.
        if (amount == FrameHeaderSize && (data[4] | data[5] | data[6] | data[7]) != 0) buffer->CommitPending = 1;
        return SqliteOk;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(ShimFile* file, long size)
    {
        var rc = FlushOwn(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, long, int>)RealMethods(file)->xTruncate)(Real(file), size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Sync(ShimFile* file, int flags)
    {
        var rc = FlushOwn(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, int, int>)RealMethods(file)->xSync)(Real(file), flags);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileSize(ShimFile* file, long* size)
    {
        var rc = FlushOwn(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, long*, int>)RealMethods(file)->xFileSize)(Real(file), size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int LockFile(ShimFile* file, int level)
    {
        var rc = FlushAny(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, int, int>)RealMethods(file)->xLock)(Real(file), level);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int UnlockFile(ShimFile* file, int level)
    {
        var rc = FlushAny(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, int, int>)RealMethods(file)->xUnlock)(Real(file), level);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CheckReservedLock(ShimFile* file, int* result) =>
        ((delegate* unmanaged[Cdecl]<void*, int*, int>)RealMethods(file)->xCheckReservedLock)(Real(file), result);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileControl(ShimFile* file, int op, void* arg)
    {
        var rc = FlushOwn(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, int, void*, int>)RealMethods(file)->xFileControl)(Real(file), op, arg);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SectorSize(ShimFile* file) => ((delegate* unmanaged[Cdecl]<void*, int>)RealMethods(file)->xSectorSize)(Real(file));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DeviceCharacteristics(ShimFile* file) =>
        ((delegate* unmanaged[Cdecl]<void*, int>)RealMethods(file)->xDeviceCharacteristics)(Real(file));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmMap(ShimFile* file, int page, int pageSize, int extend, void** mapped) =>
        ((delegate* unmanaged[Cdecl]<void*, int, int, int, void**, int>)RealMethods(file)->xShmMap)(Real(file), page, pageSize, extend, mapped);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmLock(ShimFile* file, int offset, int count, int flags)
    {
        var rc = FlushAny(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<void*, int, int, int, int>)RealMethods(file)->xShmLock)(Real(file), offset, count, flags);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ShmBarrier(ShimFile* file)
    {
        // SQLite publishes a commit right after this barrier. The commit frame's page already wrote the buffer out (see
        // Write); anything still pending here means SQLite wrote its WAL in a way this shim does not know, and a commit
        // published without its frames would hand other connections pages that are not in the file: stop the process
        // (its restart recovers the WAL as after any crash) rather than let that happen.
        if (FlushAny(file) != SqliteOk) Environment.FailFast("SQLite WAL shim: the WAL frames of a commit could not be written before it was published.");
        ((delegate* unmanaged[Cdecl]<void*, void>)RealMethods(file)->xShmBarrier)(Real(file));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmUnmap(ShimFile* file, int deleteFlag) =>
        ((delegate* unmanaged[Cdecl]<void*, int, int>)RealMethods(file)->xShmUnmap)(Real(file), deleteFlag);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Fetch(ShimFile* file, long offset, int amount, void** pointer) =>
        ((delegate* unmanaged[Cdecl]<void*, long, int, void**, int>)RealMethods(file)->xFetch)(Real(file), offset, amount, pointer);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unfetch(ShimFile* file, long offset, void* pointer) =>
        ((delegate* unmanaged[Cdecl]<void*, long, void*, int>)RealMethods(file)->xUnfetch)(Real(file), offset, pointer);

    // ---- helpers ----

    private static void* Real(ShimFile* file) => (byte*)file + HeaderSize;

    private static IoMethods* RealMethods(ShimFile* file) => *(IoMethods**)Real(file);

    private static int RealWrite(void* real, byte* data, int amount, long offset) =>
        ((delegate* unmanaged[Cdecl]<void*, byte*, int, long, int>)(*(IoMethods**)real)->xWrite)(real, data, amount, offset);

    /// <summary>The file's own buffer when it is a WAL (a database file's <see cref="ShimFile.Wal"/> is its WAL's buffer).</summary>
    private static WalBuffer* OwnBuffer(ShimFile* file) => file->Wal is not null && file->Wal->Real == Real(file) ? file->Wal : null;

    /// <summary>Writes out the buffer of this file when it is a WAL.</summary>
    private static int FlushOwn(ShimFile* file)
    {
        var own = OwnBuffer(file);
        return own is null ? SqliteOk : Flush(own);
    }

    /// <summary>Writes out the buffer of this WAL, or of the WAL of this database file's connection.</summary>
    private static int FlushAny(ShimFile* file) => file->Wal is not null ? Flush(file->Wal) : SqliteOk;

    private static int Flush(WalBuffer* buffer)
    {
        buffer->CommitPending = 0;
        if (buffer->Length == 0) return SqliteOk;
        var length = buffer->Length;
        buffer->Length = 0;
        buffer->FileWrites++;
        return RealWrite(buffer->Real, buffer->Data, length, buffer->Start);
    }

    // ---- SQLite's structures (sqlite3.h, interface version 3) ----

    [StructLayout(LayoutKind.Sequential)]
    private struct Vfs
    {
        public int iVersion;
        public int szOsFile;
        public int mxPathname;
        public Vfs* pNext;
        public byte* zName;
        public void* pAppData;
        public IntPtr xOpen, xDelete, xAccess, xFullPathname, xDlOpen, xDlError, xDlSym, xDlClose, xRandomness, xSleep,
            xCurrentTime, xGetLastError, xCurrentTimeInt64, xSetSystemCall, xGetSystemCall, xNextSystemCall;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoMethods
    {
        public int iVersion;
        public IntPtr xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock, xFileControl,
            xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, xFetch, xUnfetch;
    }

    /// <summary>The shim's file: SQLite's <c>sqlite3_file</c> (its methods pointer first), then the shim's fields.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ShimFile
    {
        public IoMethods* pMethods;
        // A WAL file: its own buffer. A database file: the buffer of its connection's open WAL (null when none).
        public WalBuffer* Wal;
    }

    /// <summary>Writes gathered for one WAL file: <see cref="Length"/> bytes at file offset <see cref="Start"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct WalBuffer
    {
        public byte* Data;
        public long Start;
        public int Length;
        public int CommitPending;
        public void* Real;
        public ShimFile* Db;
        public long Writes;
        public long FileWrites;
    }
}
