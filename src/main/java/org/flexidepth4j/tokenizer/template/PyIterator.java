package org.flexidepth4j.tokenizer.template;

import java.util.List;

/**
 * What jinja2's map, select, reject, unique, batch, items and reverse filters return: a Python generator or
 * iterator. It loops and joins like a list, but is always true, has no length or index, and tojson refuses it.
 */
final class PyIterator {
    final String typeName;
    final List<Object> items;

    PyIterator(String typeName, List<Object> items) {
        this.typeName = typeName;
        this.items = items;
    }

    @Override
    public String toString() {
        return "<" + typeName + " object>";
    }
}
