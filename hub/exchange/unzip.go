package exchange

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"obmenhub/hub/model"
)

// ratioFloor is the unpacked size, in bytes, below which the compression
// ratio is not checked: small XML files of repeated tags compress far
// better than large ones, and they cannot exhaust the disk.
const ratioFloor = 1 << 20

// unzipLimits bounds what one archive may unpack to.
type unzipLimits struct {
	budget     int64 // bytes the session may still unpack
	maxEntries int
	maxRatio   int64
}

// unpackArchive extracts the archive name of the session directory dir
// into dir and returns the bytes written. Every entry is checked before
// anything is written, and the sizes are checked again while copying,
// because an entry's header may lie. On error it removes the files it
// wrote. Bad archives yield a *model.InputError.
func unpackArchive(dir, name string, lim unzipLimits) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()

	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}

	bad := func(cause error, ru string) error {
		return &model.InputError{File: name, Err: cause, Ru: ru}
	}

	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		return 0, bad(fmt.Errorf("open zip archive: %w", err),
			fmt.Sprintf("Файл %s не является архивом zip или повреждён. Повторите обмен.", name))
	}
	if len(zr.File) > lim.maxEntries {
		return 0, bad(fmt.Errorf("archive has %d entries, limit %d", len(zr.File), lim.maxEntries),
			fmt.Sprintf("Архив %s содержит %d файлов, сайт принимает не больше %d. Выгрузите каталог частями.", name, len(zr.File), lim.maxEntries))
	}

	entries, total, err := checkEntries(zr, name, lim)
	if err != nil {
		return 0, err
	}
	if total > ratioFloor && total > lim.maxRatio*max(info.Size(), 1) {
		return 0, bad(fmt.Errorf("archive unpacks to %d bytes from %d, ratio above %d", total, info.Size(), lim.maxRatio),
			fmt.Sprintf("Архив %s распаковывается в %d раз больше своего размера и похож на zip-бомбу. Сайт его отклонил.", name, total/max(info.Size(), 1)))
	}

	var written int64
	var created []string
	for i, zf := range zr.File {
		target := entries[i]
		if target == "" {
			continue // a directory entry
		}
		created = append(created, target)
		n, err := extractEntry(root, zf, target)
		written += n
		if err != nil {
			for _, c := range created {
				_ = root.Remove(c)
			}
			return 0, err
		}
	}
	return written, nil
}

// checkEntries validates every entry's name, type and declared sizes. It
// returns the local target path of each regular file ("" for
// directories, which it creates on extraction implicitly) and the total
// declared unpacked size.
func checkEntries(zr *zip.Reader, archive string, lim unzipLimits) ([]string, int64, error) {
	bad := func(cause error, ru string) ([]string, int64, error) {
		return nil, 0, &model.InputError{File: archive, Err: cause, Ru: ru}
	}

	targets := make([]string, len(zr.File))
	var total int64
	for i, zf := range zr.File {
		mode := zf.Mode()
		if mode.IsDir() {
			continue
		}
		if !mode.IsRegular() {
			return bad(fmt.Errorf("entry %q is not a regular file (mode %v)", zf.Name, mode),
				fmt.Sprintf("Архив %s содержит ссылку или специальный файл %q. Сайт принимает только обычные файлы.", archive, zf.Name))
		}

		target, ok := entryPath(zf.Name)
		if !ok {
			return bad(fmt.Errorf("entry %q escapes the upload directory", zf.Name),
				fmt.Sprintf("Архив %s содержит файл %q с путём вне каталога загрузки. Сайт отклонил архив.", archive, zf.Name))
		}

		size := zf.UncompressedSize64
		if size > uint64(lim.budget-total) {
			return bad(fmt.Errorf("archive unpacks to more than the remaining %d bytes", lim.budget),
				fmt.Sprintf("Архив %s после распаковки больше допустимого объёма. Выгрузите каталог частями или попросите администратора сайта увеличить лимит.", archive))
		}
		if size > ratioFloor && size > uint64(lim.maxRatio)*max(zf.CompressedSize64, 1) {
			return bad(fmt.Errorf("entry %q unpacks to %d bytes from %d, ratio above %d", zf.Name, size, zf.CompressedSize64, lim.maxRatio),
				fmt.Sprintf("Файл %q в архиве %s сжат больше чем в %d раз и похож на zip-бомбу. Сайт отклонил архив.", zf.Name, archive, lim.maxRatio))
		}
		total += int64(size)
		targets[i] = target
	}
	return targets, total, nil
}

// entryPath returns the local path of a zip entry name, or false for an
// absolute name or one with a ".." component (the "zip slip").
func entryPath(name string) (string, bool) {
	name = strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(name, "/") || len(name) >= 2 && name[1] == ':' {
		return "", false
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	name = path.Clean(name)
	local := filepath.FromSlash(name)
	if name == "." || !filepath.IsLocal(local) {
		return "", false
	}
	return local, true
}

// extractEntry copies one entry to target, refusing more bytes than the
// header declared. archive/zip also rejects such data, with ErrFormat.
func extractEntry(root *os.Root, zf *zip.File, target string) (int64, error) {
	if dir := filepath.Dir(target); dir != "." {
		if err := root.MkdirAll(dir, 0o750); err != nil {
			return 0, err
		}
	}
	rc, err := zf.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()

	out, err := root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, err
	}
	declared := int64(zf.UncompressedSize64)
	n, err := io.Copy(out, io.LimitReader(rc, declared+1))
	if err == nil && n > declared {
		err = fmt.Errorf("entry %q contains more than its declared %d bytes", zf.Name, declared)
	}
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) || (err != nil && n > declared) {
		err = &model.InputError{File: zf.Name, Err: err,
			Ru: fmt.Sprintf("Файл %q в архиве повреждён или его размер не совпадает с заголовком. Повторите обмен.", zf.Name)}
	}
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	return n, err
}
