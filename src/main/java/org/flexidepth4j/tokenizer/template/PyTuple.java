package org.flexidepth4j.tokenizer.template;

import java.util.ArrayList;
import java.util.Collection;

/** A Python tuple: a list that prints with parentheses (dict items, literal pairs). */
final class PyTuple extends ArrayList<Object> {
    PyTuple(Collection<?> items) {
        super(items);
    }
}
